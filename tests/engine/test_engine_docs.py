"""The documentation cannot drift from the engine.

* Every YAML example of docs/rules-language.md marked ``rulepack``, ``rule`` or ``config``
  is loaded with the engine's own loaders, and each worked example's manifest
  (``manifest example=NAME fires=N``) is scanned with its rule.
* docs/rules.md is exactly what tools/gen_rules_doc.py generates from policies/.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from auditor.engine.config import load_config
from auditor.engine.rules import load_pack, load_packs
from auditor.pipeline import ScanOptions, scan_paths

REPO = Path(__file__).resolve().parents[2]
LANGUAGE = REPO / "docs" / "rules-language.md"
RULES_DOC = REPO / "docs" / "rules.md"
GENERATOR = REPO / "tools" / "gen_rules_doc.py"

FENCE = re.compile(r"^```yaml[ \t]+(?P<info>[^\n]*)\n(?P<body>.*?)^```[ \t]*$", re.M | re.S)
PACK_HEADER = "apiVersion: kube-auditor.io/v1\nkind: RulePack\nmetadata:\n  name: {name}\nrules:\n"


def _blocks() -> list[dict]:
    text = LANGUAGE.read_text(encoding="utf-8")
    blocks = []
    for match in FENCE.finditer(text):
        kind, *attributes = match.group("info").split()
        line = text.count("\n", 0, match.start()) + 1
        block = {"kind": kind, "body": match.group("body"), "line": line}
        block.update(a.split("=", 1) for a in attributes)
        blocks.append(block)
    return blocks


BLOCKS = _blocks()


def _of(kind: str) -> list[dict]:
    return [b for b in BLOCKS if b["kind"] == kind]


def _ids(blocks: list[dict]) -> list[str]:
    return [f"line {b['line']}" + (f" ({b['example']})" if "example" in b else "") for b in blocks]


def _as_pack(rule_text: str, name: str) -> str:
    lines = rule_text.rstrip("\n").splitlines()
    return PACK_HEADER.format(name=name) + "\n".join(["  - " + lines[0]] + ["    " + line for line in lines[1:]]) + "\n"


def test_the_doc_has_its_examples():
    kinds = [b["kind"] for b in BLOCKS]
    assert kinds.count("rulepack") >= 1 and kinds.count("rule") >= 5 and kinds.count("config") >= 2
    assert set(kinds) <= {"rulepack", "rule", "config", "manifest"}, f"unknown example kinds: {set(kinds)}"
    examples = {b["example"] for b in _of("rule") if "example" in b}
    manifests = {b["example"] for b in _of("manifest")}
    assert examples == manifests and len(examples) >= 4


@pytest.mark.parametrize("block", _of("rulepack"), ids=_ids(_of("rulepack")))
def test_rule_pack_examples_load(tmp_path, block):
    path = tmp_path / "pack.yaml"
    path.write_text(block["body"], encoding="utf-8")
    assert load_pack(path).rules


@pytest.mark.parametrize("block", _of("rule"), ids=_ids(_of("rule")))
def test_rule_examples_load(tmp_path, block):
    path = tmp_path / "pack.yaml"
    path.write_text(_as_pack(block["body"], "doc"), encoding="utf-8")
    (rule,) = load_pack(path).rules
    assert not rule.id.startswith("KA-"), "examples use their own prefix, not the built-in one"


def test_example_rules_and_builtin_rules_coexist(tmp_path):
    """Distinct ids: the examples can be copied into one --policy directory next to the built-ins."""
    folder = tmp_path / "doc-packs"
    folder.mkdir()
    for index, block in enumerate(_of("rule")):
        (folder / f"rule{index:02}.yaml").write_text(_as_pack(block["body"], f"doc{index}"), encoding="utf-8")
    for index, block in enumerate(_of("rulepack")):
        (folder / f"pack{index:02}.yaml").write_text(block["body"], encoding="utf-8")
    load_packs([REPO / "policies", folder])


@pytest.mark.parametrize("block", _of("config"), ids=_ids(_of("config")))
def test_config_examples_load(tmp_path, block):
    path = tmp_path / "config.yaml"
    path.write_text(block["body"], encoding="utf-8")
    load_config(path)


@pytest.mark.parametrize("block", _of("manifest"), ids=_ids(_of("manifest")))
def test_worked_examples_fire_as_described(tmp_path, block):
    (rule_block,) = [b for b in _of("rule") if b.get("example") == block["example"]]
    pack = tmp_path / "packs" / "example.yaml"
    pack.parent.mkdir()
    pack.write_text(_as_pack(rule_block["body"], "example"), encoding="utf-8")
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(block["body"], encoding="utf-8")
    result = scan_paths([str(manifest)], ScanOptions(policy_dirs=[pack.parent], builtin_policies=False))
    assert not result.notices, [str(n) for n in result.notices]
    assert len(result.findings) == int(block["fires"]), [f.message for f in result.findings]


def _generator():
    spec = importlib.util.spec_from_file_location("gen_rules_doc", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_rules_doc_is_generated_from_the_packs():
    generated = _generator().generate()
    current = RULES_DOC.read_text(encoding="utf-8") if RULES_DOC.is_file() else ""
    assert current == generated, "docs/rules.md is out of date: regenerate it with `python tools/gen_rules_doc.py`"


def test_rules_doc_covers_every_rule():
    text = RULES_DOC.read_text(encoding="utf-8")
    for pack in load_packs([REPO / "policies"]):
        for rule in pack.rules:
            assert f"### {rule.id}: {rule.title}" in text
            assert " ".join(rule.risk.split()) in text and " ".join(rule.remediation.split()) in text


def test_generator_check_mode(tmp_path, monkeypatch, capsys):
    generator = _generator()
    assert generator.main(["--check"]) == 0
    assert "out of date" not in capsys.readouterr().err
    output = tmp_path / "docs" / "rules.md"
    monkeypatch.setattr(generator, "OUTPUT", output)
    assert generator.main(["--check"]) == 1
    assert f"{output} is out of date: run python tools/gen_rules_doc.py" in capsys.readouterr().err
    assert generator.main([]) == 0
    assert output.read_text(encoding="utf-8") == RULES_DOC.read_text(encoding="utf-8")
    assert generator.main(["--check"]) == 0
