"""Rule packs: loading, and one precise error per kind of mistake (file:line: rule: field: why).

The pack under test is ``policies/x.yaml`` relative to a temporary working directory, so
the messages read exactly as a user sees them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.engine.rules import RulePackError, load_pack, load_packs, pack_files
from auditor.pipeline import ScanOptions, load_rules
from auditor.resources import builtin_policy_dir

HEADER = "apiVersion: kube-auditor.io/v1\nkind: RulePack\nmetadata:\n  name: x\nrules:\n"
RULE = """\
  - id: KA-X-001
    title: Container image is unpinned
    severity: low
    stride: [Tampering]
    layer: container
    target: container
    risk: Tags move.
    remediation: Pin a digest.
"""
CHECK = "    check: {path: image, matches: ':latest$'}\n"
# the rule starts on line 6; its last fixed line (remediation) is line 13


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "policies").mkdir()
    return tmp_path


def _error(text: str | bytes, file: str = "policies/x.yaml") -> str:
    path = Path(file)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    with pytest.raises(RulePackError) as error:
        load_pack(path)
    return str(error.value)


ROOTS = "roots are $object, $pod, $podMetadata, $container, $containerType"
OPS = "exists, equals, in, not_in, matches, gt, gte, lt, lte, contains, subset_of, some, every"

RULE_MISTAKES = [
    # (what, text after the rule's fixed fields, message after "policies/x.yaml:")
    ("unknown root",
     "    check:\n      all:\n        - {path: $foo.image, exists: true}\n",
     f"6: rule KA-X-001: check.all[0].path: unknown root '$foo'; {ROOTS}"),
    ("path syntax",
     "    check: {not: {path: 'ports[0', exists: true}}\n",
     "6: rule KA-X-001: check.not.path: cannot parse field path 'ports[0' at position 5"),
    ("bad regular expression",
     "    check: {any: [{path: image, exists: false}, {path: image, matches: '(latest'}]}\n",
     "6: rule KA-X-001: check.any[1].matches: invalid regular expression: missing ), "
     "unterminated subpattern at position 0"),
    ("two operators",
     "    check: {path: image, exists: true, matches: x}\n",
     f"6: rule KA-X-001: check: a path condition needs exactly one operator of {OPS} "
     "(found exists, matches)"),
    ("no operator",
     "    check: {all: [{path: image}]}\n",
     f"6: rule KA-X-001: check.all[0]: a path condition needs exactly one operator of {OPS} (found none)"),
    ("misspelt operator",
     "    check: {path: image, equal: nginx}\n",
     "6: rule KA-X-001: check.equal: Extra inputs are not permitted"),
    ("not a condition",
     "    check: {image: nginx}\n",
     "6: rule KA-X-001: check: a condition is a mapping with one of: all, any, not, path"),
    ("not given a list",
     "    check: {not: [{path: image, exists: true}]}\n",
     "6: rule KA-X-001: check.not: a condition is a mapping with one of: all, any, not, path"),
    ("empty all",
     "    check: {all: []}\n",
     "6: rule KA-X-001: check.all: List should have at least 1 item after validation, not 0"),
    ("bad quantifier",
     "    check: {path: 'ports[*].hostPort', exists: true, quantifier: every}\n",
     "6: rule KA-X-001: check.quantifier: Input should be 'any' or 'all'"),
    ("string for a number",
     "    check: {path: 'ports[*].hostPort', gt: '1024'}\n",
     "6: rule KA-X-001: check.gt: Input should be a valid number"),
    ("null operand",
     "    check: {path: image, equals: null}\n",
     "6: rule KA-X-001: check.equals: an operator's value cannot be null (a null field counts as "
     "unset: test for it with exists: false)"),
    ("deep in some",
     "    check: {path: env, some: {all: [{path: name, exists: true}, {path: value, lt: x}]}}\n",
     "6: rule KA-X-001: check.some.all[1].lt: Input should be a valid number"),
    ("bad when",
     "    when: {path: $podMetadata.labels.app, in: nginx}\n" + CHECK,
     "6: rule KA-X-001: when.in: Input should be a valid list"),
    ("missing check", "", "6: rule KA-X-001: check: Field required"),
    ("unknown field", "    severty: high\n" + CHECK, "6: rule KA-X-001: severty: Extra inputs are not permitted"),
    ("bad match field", "    match: {kind: [Pod]}\n" + CHECK,
     "6: rule KA-X-001: match.kind: Extra inputs are not permitted"),
    ("match kinds not a list", "    match: {kinds: Pod}\n" + CHECK,
     "6: rule KA-X-001: match.kinds: Input should be a valid list"),
    ("unknown container kind", "    match: {containers: [sidecars]}\n" + CHECK,
     "6: rule KA-X-001: match.containers[0]: Input should be 'containers', 'initContainers' or "
     "'ephemeralContainers'"),
    ("framework ids not a list", "    frameworks: {cis: '5.1.1'}\n" + CHECK,
     "6: rule KA-X-001: frameworks.cis: Input should be a valid list"),
    ("bad message", "    message: 'image {value:image} in {contianer}'\n" + CHECK,
     "6: rule KA-X-001: message: unknown placeholder {contianer}; placeholders are {container}, "
     "{container_type}, {kind}, {name}, {namespace} and {value:PATH}"),
    ("duplicate key", "    check: {path: image, exists: true}\n    check: {path: image, matches: x}\n",
     "15: rule KA-X-001: check: duplicate key (first at line 14)"),
    ("duplicate key deep", "    check:\n      path: image\n      path: name\n      exists: true\n",
     "16: rule KA-X-001: check.path: duplicate key (first at line 15)"),
]


@pytest.mark.parametrize("what, body, message", RULE_MISTAKES, ids=[m[0] for m in RULE_MISTAKES])
def test_rule_mistakes(in_tmp, what, body, message):
    assert _error(HEADER + RULE + body) == f"policies/x.yaml:{message}"


FIELD_MISTAKES = [
    ("id", "KA-X-001", "ka-x-1", "id: rule ids look like PREFIX-GROUP-123 (upper case, dash-separated)"),
    ("severity", "low", "urgent", "severity: Input should be 'critical', 'high', 'medium', 'low' or 'info'"),
    ("stride", "[Tampering]", "[]", "stride: List should have at least 1 item after validation, not 0"),
    ("stride", "[Tampering]", "[Tampering, Theft]",
     "stride[1]: Input should be 'Spoofing', 'Tampering', 'Repudiation', 'InformationDisclosure', "
     "'DenialOfService' or 'ElevationOfPrivilege'"),
    ("layer", "container", "node", "layer: Input should be 'cloud', 'cluster', 'container' or 'code'"),
    ("target", "container", "node", "target: Input should be 'object', 'pod' or 'container'"),
    ("title", "Container image is unpinned", "''", "title: String should have at least 1 character"),
    ("risk", "Tags move.", "''", "risk: String should have at least 1 character"),
]


def test_unknown_framework(in_tmp):
    # The wording belongs to the frameworks validator; the shape and what it names are fixed.
    message = _error(HEADER + RULE + "    frameworks: {pci: ['1.2']}\n" + CHECK)
    assert message.startswith("policies/x.yaml:6: rule KA-X-001: frameworks")
    assert "'pci'" in message or "frameworks.pci:" in message
    assert all(name in message for name in ("cis", "nsa", "mitre"))


@pytest.mark.parametrize("field, good, bad, message", FIELD_MISTAKES, ids=[f"{m[0]}={m[2]}" for m in FIELD_MISTAKES])
def test_field_mistakes(in_tmp, field, good, bad, message):
    rule = RULE.replace(f"{field}: {good}\n", f"{field}: {bad}\n")
    assert rule != RULE
    rule_id = "ka-x-1" if field == "id" else "KA-X-001"
    assert _error(HEADER + rule + CHECK) == f"policies/x.yaml:6: rule {rule_id}: {message}"


def test_missing_required_fields(in_tmp):
    for field in ("title", "severity", "stride", "layer", "risk", "remediation"):
        rule = "".join(line for line in RULE.splitlines(True) if not line.startswith(f"    {field}:"))
        assert _error(HEADER + rule + CHECK) == f"policies/x.yaml:6: rule KA-X-001: {field}: Field required"


def test_the_line_is_the_line_of_the_failing_rule(in_tmp):
    second = RULE.replace("KA-X-001", "KA-X-002").replace("severity: low", "severity: urgent")
    message = _error(HEADER + RULE + CHECK + second + CHECK)
    assert message.startswith("policies/x.yaml:15: rule KA-X-002: severity: ")


def test_a_rule_that_is_not_a_mapping(in_tmp):
    assert _error(HEADER + RULE + CHECK + "  - KA-X-002\n") == (
        "policies/x.yaml:15: rule rules[1]: rule: a rule is a mapping (id, title, severity, stride, "
        "layer, check, risk, remediation, ...), not a str"
    )


SHAPE = "a rule pack is a mapping with apiVersion: kube-auditor.io/v1, kind: RulePack, metadata and rules"

PACK_MISTAKES = [
    ("empty", "", f"policies/x.yaml: empty file: {SHAPE}"),
    ("a list", "- id: KA-X-001\n", f"policies/x.yaml: not a mapping: {SHAPE}"),
    ("api version", HEADER.replace("/v1", "/v2") + RULE + CHECK,
     "policies/x.yaml: apiVersion: Input should be 'kube-auditor.io/v1'"),
    ("kind", HEADER.replace("RulePack", "Policy") + RULE + CHECK,
     "policies/x.yaml: kind: Input should be 'RulePack'"),
    ("no metadata name", HEADER.replace("  name: x\n", "  description: d\n") + RULE + CHECK,
     "policies/x.yaml: metadata.name: Field required"),
    ("rules not a list", HEADER + "  id: KA-X-001\n", "policies/x.yaml: rules: Input should be a valid list"),
    ("extra top-level field", "spec: {}\n" + HEADER + RULE + CHECK,
     "policies/x.yaml: spec: Extra inputs are not permitted"),
    ("YAML syntax", HEADER + RULE + "    check: {path: image, exists: true\n",
     "policies/x.yaml:15:1: did not find expected ',' or '}'"),
    ("tab indentation", HEADER + "\t- id: KA-X-001\n",
     "policies/x.yaml:6:1: found character that cannot start any token"),
    ("duplicate top-level key", HEADER + RULE + CHECK + "rules: []\n",
     "policies/x.yaml:15: rules: duplicate key (first at line 5)"),
    ("duplicate metadata key", HEADER.replace("  name: x\n", "  name: x\n  name: y\n") + RULE + CHECK,
     "policies/x.yaml:5: metadata.name: duplicate key (first at line 4)"),
]


@pytest.mark.parametrize("what, text, message", PACK_MISTAKES, ids=[m[0] for m in PACK_MISTAKES])
def test_pack_mistakes(in_tmp, what, text, message):
    assert _error(text) == message


def test_not_utf8(in_tmp):
    assert _error(b"\xff\xfe\x00k") == "policies/x.yaml: not UTF-8 text"


def test_missing_file(in_tmp):
    with pytest.raises(RulePackError, match=r"^policies/none\.yaml: No such file or directory$"):
        load_pack(Path("policies/none.yaml"))


# ---------------------------------------------------------------------------------------
# Duplicate ids


def test_duplicate_id_within_a_pack(in_tmp):
    assert _error(HEADER + RULE + CHECK + RULE + CHECK) == (
        "policies/x.yaml:15: rule KA-X-001: id: duplicate of the rule at line 6"
    )


def test_duplicate_id_across_packs(in_tmp):
    Path("policies/a.yaml").write_text(HEADER + RULE + CHECK)
    Path("policies/b.yaml").write_text(HEADER + "  # a comment\n" + RULE + CHECK)
    with pytest.raises(RulePackError) as error:
        load_packs([Path("policies")])
    assert str(error.value) == "policies/b.yaml:7: rule KA-X-001: id: already defined in policies/a.yaml:6"


def test_a_policy_pack_cannot_redefine_a_builtin_rule(in_tmp):
    Path("extra.yaml").write_text(HEADER + RULE.replace("KA-X-001", "KA-CTR-004") + CHECK)
    with pytest.raises(RulePackError, match=r"^extra\.yaml:6: rule KA-CTR-004: id: already defined in .*container\.yaml:\d+$"):
        load_rules(ScanOptions(policy_dirs=[Path("extra.yaml")]))


# ---------------------------------------------------------------------------------------
# Loading: directories, --policy packs


def test_pack_files_of_a_directory(in_tmp):
    for name in ("b.yaml", "a.yml", "notes.txt", "c.json"):
        Path("policies", name).write_text(HEADER + RULE + CHECK)
    Path("policies/sub.yaml").mkdir()
    assert [p.name for p in pack_files(Path("policies"))] == ["a.yml", "b.yaml"]
    assert pack_files(Path("policies/notes.txt")) == [Path("policies/notes.txt")]  # named: read
    with pytest.raises(RulePackError, match=r"^nowhere: no such rule pack file or directory$"):
        pack_files(Path("nowhere"))


def test_loaded_pack(in_tmp):
    Path("policies/x.yaml").write_text(HEADER.replace("  name: x\n", "  name: x\n  description: Extra.\n")
                                       + RULE + CHECK)
    (pack,) = load_packs([Path("policies")])
    assert (pack.name, pack.description, pack.file) == ("x", "Extra.", "policies/x.yaml")
    (rule,) = pack.rules
    assert (rule.id, rule.pack, rule.target, rule.severity.value) == ("KA-X-001", "x", "container", "low")
    assert pack.lines == {"KA-X-001": 7}


def test_policy_packs_are_added_to_the_builtin_ones(in_tmp):
    Path("policies/x.yaml").write_text(HEADER + RULE + CHECK)
    builtin = {r.id for r in load_rules(ScanOptions())}
    both = {r.id for r in load_rules(ScanOptions(policy_dirs=[Path("policies")]))}
    only = {r.id for r in load_rules(ScanOptions(policy_dirs=[Path("policies")], builtin_policies=False))}
    assert "KA-CTR-004" in builtin and "KA-X-001" not in builtin
    assert both == builtin | {"KA-X-001"}
    assert only == {"KA-X-001"}


def test_builtin_packs_load_and_every_rule_id_is_unique():
    packs = load_packs([builtin_policy_dir()])
    ids = [r.id for p in packs for r in p.rules]
    assert len(ids) == len(set(ids))
    assert {p.name for p in packs} >= {"container", "inventory"}


def test_a_root_the_target_lacks(in_tmp):
    rule = RULE.replace("target: container", "target: pod")
    body = "    check:\n      any:\n        - {path: hostPID, equals: true}\n        - {path: $container.image, exists: true}\n"
    assert _error(HEADER + rule + body) == (
        "policies/x.yaml:6: rule KA-X-001: check.any[1].path: $container is only available to rules "
        "with target container"
    )


def test_a_file_named_twice_is_loaded_once(in_tmp):
    """A pack author in this repository runs --policy policies/new.yaml: the built-in
    directory already holds the file, which used to fail as 'already defined'."""
    Path("policies/x.yaml").write_text(HEADER + RULE + CHECK)
    packs = load_packs([Path("policies"), Path("policies/x.yaml"), Path("./policies")])
    assert [p.file for p in packs] == ["policies/x.yaml"]
    builtin = [r.id for r in load_rules(ScanOptions())]
    assert [r.id for r in load_rules(ScanOptions(policy_dirs=[builtin_policy_dir()]))] == builtin
