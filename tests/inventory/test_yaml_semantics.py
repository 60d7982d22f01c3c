"""YAML semantics: every value as Kubernetes' decoder reads it, on both parsing paths.

Kubernetes decodes YAML with go-yaml v2 (through sigs.k8s.io/yaml): YAML 1.1 booleans,
C-style octals, no timestamps (they stay strings), merge keys, and keys turned into JSON
strings. The loader takes a fast YAML 1.2 parser unless ``needs_exact_path`` finds a scalar
whose meaning could differ; these tests hold both paths, and the detector, to that.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest

from auditor.inventory import InputError, LoadOptions, ParseLimits, load_paths, load_text
from auditor.inventory.yamlsafe import (
    _fast_read_is_trustworthy,
    _split_documents,
    needs_exact_path,
    parse_fast,
    parse_yaml_stream,
)

from .helpers import REPO_ROOT, shared_dir

try:
    import yaml_rs  # noqa: F401 - the fast parser is optional
except ImportError:  # pragma: no cover - where no wheel exists
    HAVE_FAST = False
else:
    HAVE_FAST = True
#: tests that call the fast parser itself (the others then simply run the exact path twice)
needs_fast_parser = pytest.mark.skipif(not HAVE_FAST, reason="yaml-rs is not installed")

FAST = LoadOptions(limits=ParseLimits(use_fast_parser=True))
EXACT = LoadOptions(limits=ParseLimits(use_fast_parser=False))
HEADER = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"
NAN = float("nan")
INF = float("inf")


def same(a, b) -> bool:
    """Equal values of the same types, all the way down (NaN equals NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=False))
    return a == b


def loaded(body: str, options: LoadOptions | None = None):
    result = load_text(HEADER + body, options=options)
    assert result.warnings == [], result.warnings
    (obj,) = result.objects
    return obj.obj


def exact_data(text: str):
    (obj,) = load_text(HEADER + text, options=EXACT).objects
    return obj.obj


# (plain scalar as written, value Kubernetes reads)
SCALARS = [
    *[
        (word, True)
        for word in ("yes", "Yes", "YES", "y", "Y", "on", "On", "ON", "true", "True", "TRUE")
    ],
    *[
        (word, False)
        for word in ("no", "No", "NO", "n", "N", "off", "Off", "OFF", "false", "False", "FALSE")
    ],
    ("0644", 420),
    ("0o644", 420),
    ("0O17", 15),
    ("0x1F", 31),
    ("0X1f", 31),
    ("0b101", 5),
    ("-0b101", -5),
    ("1_000", 1000),
    ("0x_1F", 31),
    ("+12", 12),
    ("-012", -10),
    ("0", 0),
    ("00", 0),
    ("0_7", 7),
    ("-0", 0),
    ("9223372036854775807", 9223372036854775807),
    ("18446744073709551615", 18446744073709551615),  # uint64: still an integer
    ("089", 89.0),  # not octal: a float
    ("0_8", 8.0),
    ("1e3", 1000.0),
    ("1E3", 1000.0),
    ("1.5", 1.5),
    (".5", 0.5),
    ("+.5", 0.5),
    ("1.", 1.0),
    ("1_000.5", 1000.5),
    ("18446744073709551616", 1.8446744073709552e19),  # beyond 64 bits: a float
    ("-9223372036854775809", -9.223372036854776e18),
    ("0777777777777777777777777", 7.777777777777778e23),  # octal overflow: read as decimal
    (".inf", INF),
    (".Inf", INF),
    ("+.INF", INF),
    ("-.inf", -INF),
    (".nan", NAN),
    (".NaN", NAN),
    ("~", None),
    ("null", None),
    ("Null", None),
    ("NULL", None),
    ("", None),
    # strings
    ("2024-01-01", "2024-01-01"),  # timestamps stay strings
    ("2001-12-14t21:59:43.10-05:00", "2001-12-14t21:59:43.10-05:00"),
    ("12:30", "12:30"),  # no sexagesimal numbers
    ("1:20", "1:20"),
    ("190:20:30", "190:20:30"),
    ("tRue", "tRue"),
    ("nULL", "nULL"),
    ("yES", "yES"),
    ("oN", "oN"),
    ("0x", "0x"),
    ("0o8", "0o8"),
    ("0b2", "0b2"),
    ("0x_", "0x_"),
    ("1e400", "1e400"),  # beyond float64: go-yaml keeps the string
    ("0x10000000000000000", "0x10000000000000000"),
    ("_1", "_1"),
    (".5_0", ".5_0"),
    ("+.nan", "+.nan"),
    ("inf", "inf"),
    ("1.2.3", "1.2.3"),
    ("1,000", "1,000"),
    ("<<", "<<"),
    ("0.0.0.0/0", "0.0.0.0/0"),
]

QUOTED = [
    ('"yes"', "yes"),
    ("'on'", "on"),
    ('"0644"', "0644"),
    ("'1e3'", "1e3"),
    ('"~"', "~"),
    ('""', ""),
    ('"true"', "true"),
]

TAGGED = [
    ("!!str 1", "1"),
    ("!!str yes", "yes"),
    ("!!str 0644", "0644"),
    ("!!str", ""),
    ('!!int "0644"', 420),
    ("!!int 0x1F", 31),
    ("!!float 1", 1.0),
    ("!!float 0644", 420.0),
    ('!!bool "yes"', True),
    ("!!bool off", False),
    ("!!null ~", None),
    ("!!binary aGVsbG8=", "hello"),
    ("!!timestamp 2024-01-01", "2024-01-01"),
    ("!custom 12", "12"),
    ("!custom yes", "yes"),
    ("!<tag:example.com,2024:thing> 0644", "0644"),
]

ALL = SCALARS + QUOTED + TAGGED


def _id(case) -> str:
    return repr(case[0])


@pytest.mark.parametrize(("text", "expected"), ALL, ids=[_id(c) for c in ALL])
def test_public_loader_reads_values_as_kubernetes(text, expected):
    assert same(loaded(f"v: {text}\n")["v"], expected)
    if text and "," not in text and text != "!!str":  # as a flow item it would read otherwise
        assert same(loaded(f"v: [{text}]\n")["v"], [expected])


@pytest.mark.parametrize(("text", "expected"), ALL, ids=[_id(c) for c in ALL])
def test_exact_path_reads_values_as_kubernetes(text, expected):
    assert same(loaded(f"v: {text}\n", EXACT)["v"], expected)
    assert same(loaded(f"seq:\n- {text}\n", EXACT)["seq"], [expected])


FAST_CASES = [case for case in ALL if not needs_exact_path(HEADER + f"v: {case[0]}\n")]


@needs_fast_parser
@pytest.mark.parametrize(("text", "expected"), FAST_CASES, ids=[_id(c) for c in FAST_CASES])
def test_fast_path_reads_values_as_kubernetes_where_the_detector_lets_it(text, expected):
    # the other scalars are sent to the exact path (checked by the tests that follow)
    document = HEADER + f"v: {text}\n"
    assert same(parse_fast(document, ParseLimits())["v"], expected)
    assert same(loaded(f"v: {text}\n", FAST)["v"], expected)


@needs_fast_parser
def test_yaml11_scalars_are_all_sent_to_the_exact_path():
    differ = [text for text, expected in SCALARS if not same(_fast_value(f"v: {text}\n"), expected)]
    assert differ, "the fast parser should differ on YAML 1.1 scalars"
    assert [t for t in differ if not needs_exact_path(f"v: {t}\n")] == []
    assert {"yes", "on", "y", "0644", "089", "_1", ".5_0", "1e400"} <= set(differ)


def _fast_value(document: str):
    try:
        return parse_fast(document, ParseLimits())["v"]
    except Exception:  # noqa: BLE001 - a refusal is a difference too
        return object()


# --------------------------------------------------------------------------------------
# Explicit tags that do not fit


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("!!int abc", "cannot decode !!str `abc` as a !!int"),
        ("!!int 1.5", "cannot decode !!float `1.5` as a !!int"),
        ("!!int yes", "cannot decode !!bool `yes` as a !!int"),
        ("!!bool 1", "cannot decode !!int `1` as a !!bool"),
        ("!!float abc", "cannot decode !!str `abc` as a !!float"),
    ],
)
def test_explicit_tags_that_do_not_fit_are_errors_with_a_location(text, reason):
    for options in (FAST, EXACT):
        with pytest.raises(InputError) as error:
            load_text(HEADER + f"v: {text}\n", "t.yaml", options=options)
        assert str(error.value) == f"t.yaml:4:4: {reason}"


# --------------------------------------------------------------------------------------
# Keys: sigs.k8s.io/yaml turns YAML into JSON, whose keys are strings


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("9000", "9000"),
        ("0644", "420"),
        ("0x1F", "31"),
        ("true", "true"),
        ("on", "true"),
        ("y", "true"),
        ("No", "false"),
        ("1.5", "1.5"),
        ("1e3", "1000"),
        ("1e6", "1e+06"),
        ("0.1", "0.1"),
        (".inf", ".inf"),
        ("-.inf", "-.inf"),
        (".nan", ".nan"),
        ("12:30", "12:30"),
        ("'1'", "1"),
        ("!!str 1", "1"),
        ("&k 7", "7"),
    ],
)
def test_keys_become_strings_as_kubernetes_reads_them(key, expected):
    body = f"data:\n  {key}: v\n"
    for options in (None, FAST, EXACT):
        assert loaded(body, options)["data"] == {expected: "v"}
    flow = f"data: {{{key}: v}}\n"
    for options in (None, FAST, EXACT):
        assert loaded(flow, options)["data"] == {expected: "v"}


@pytest.mark.parametrize("key", ["~", "null", "", "[a, b]", "{a: 1}", "? [a]\n  "])
def test_keys_kubernetes_cannot_decode_are_errors(key):
    body = f"data:\n  {key}: v\n"
    for options in (FAST, EXACT):
        with pytest.raises(InputError) as error:
            load_text(HEADER + body, "k.yaml", options=options)
        assert str(error.value).startswith("k.yaml:5:")


# --------------------------------------------------------------------------------------
# Merge keys, in go-yaml v2's order


MERGES = [
    # (document body, expected "out")
    ("base: &b {a: 1, b: 2}\nout:\n  <<: *b\n  b: 3\n", {"a": 1, "b": 3}),
    # a merge after an explicit key overwrites it, as go-yaml v2 applies pairs in order
    ("base: &b {privileged: true}\nout:\n  privileged: false\n  <<: *b\n", {"privileged": True}),
    # in a list of merged mappings the first wins
    ("x: &x {a: 1}\ny: &y {a: 2, b: 2}\nout:\n  <<: [*x, *y]\n", {"a": 1, "b": 2}),
    ("x: &x {a: 1}\ny: &y {a: 2}\nout: {<<: [*x, *y], a: 3}\n", {"a": 3}),
    # two merge keys: the later one wins over the earlier
    ("x: &x {a: 1}\ny: &y {a: 2}\nout:\n  <<: *x\n  <<: *y\n", {"a": 2}),
    # a merged mapping that merges in turn
    ("x: &x {a: 1, b: 1}\ny: &y {<<: *x, b: 2}\nout: {<<: *y, c: 3}\n", {"a": 1, "b": 2, "c": 3}),
    # an inline mapping, and a merge in flow style
    ("out: {<<: {a: 1}, b: 2}\n", {"a": 1, "b": 2}),
    # a quoted "<<" is an ordinary key
    ("out: {'<<': {a: 1}}\n", {"<<": {"a": 1}}),
    # "? <<" is a merge key too
    ("out:\n  ? <<\n  : {a: 1}\n", {"a": 1}),
    # merged keys are strings as well
    ("x: &x {1: a, on: b}\nout: {<<: *x}\n", {"1": "a", "true": "b"}),
]


@pytest.mark.parametrize(("body", "expected"), MERGES)
def test_merge_keys_apply_as_go_yaml_v2_does(body, expected):
    for options in (None, FAST, EXACT):
        assert loaded(body, options)["out"] == expected
    assert needs_exact_path(HEADER + body) or "<<" not in body.replace("'<<'", "")


def test_merge_of_a_scalar_is_an_error():
    with pytest.raises(InputError) as error:
        load_text(HEADER + "out:\n  <<: 1\n", "m.yaml")
    assert str(error.value) == (
        "m.yaml:5:7: map merge requires map or sequence of maps as the value "
        "(while constructing a mapping)"
    )


def test_merged_keys_are_not_duplicates_but_repeated_keys_are():
    result = load_text(HEADER + "x: &x {a: 1}\nout: {<<: *x, a: 2, b: 1, b: 2}\n", "m.yaml")
    assert [str(w) for w in result.warnings] == [
        "m.yaml:5:27: duplicate key 'b': the last value is used, as Kubernetes' decoder does"
    ]


# --------------------------------------------------------------------------------------
# The detector: every scalar the fast parser reads differently must send its document to
# the exact path


POSITIONS = [
    "k: {s}\n",
    "{s}: v\n",
    "- {s}\n",
    "[{s}]\n",
    "[a, {s}, b]\n",
    "{{k: {s}}}\n",
    "{{{s}: v}}\n",
    "{{a: 1, {s}: v}}\n",
    "k: &a {s}\nj: *a\n",
    "&a {s}: v\n",
    "k: !!str {s}\n",
    "k: !local {s}\n",
    "- k: {s}\n",
    "- - {s}\n",
    "? {s}\n: v\n",
    "k: [{s},{s}]\n",
    "k:\n  - {s}\n",
    "k:\n  {s}\n",
    "k:\n  {s}: v\n",
    "k: {s} # comment\n",
    "k: {s}\r\n",
    "--- {s}\n",
    "k: {{j: [{s}]}}\n",
    "-\t{s}\n",
    "- \t{s}\n",
    "k:\t{s}\n",
    "k: \t{s}\n",
    "k: {s}\n\t\n",
    "? \t{s}\n: v\n",
    "k: [a,\t{s}]\n",
]

WORDS = [
    "yes",
    "Yes",
    "YES",
    "y",
    "Y",
    "on",
    "On",
    "ON",
    "no",
    "No",
    "NO",
    "n",
    "N",
    "off",
    "Off",
    "OFF",
    "true",
    "True",
    "TRUE",
    "false",
    "False",
    "FALSE",
    "null",
    "Null",
    "NULL",
    "~",
    "<<",
    ".inf",
    "-.inf",
    "+.inf",
    ".nan",
    ".NaN",
    ".Inf",
    "1e400",
    ".5e400",
    "-1e+400",
    "18446744073709551616",
    "18446744073709551615",
    "-9223372036854775809",
    "9223372036854775808",
    "0x10000000000000000",
    "0xFFFFFFFFFFFFFFFF",
    "0b" + "1" * 65,
    "0o" + "7" * 23,
    "1" + "0" * 30,
    "1_000_000_000_000_000_000",
    "0777777777777777777777777",
    "1e-400",
    "2024-01-01",
    "12:30",
    "1:20",
    "abc",
    "a_b",
    "1.2.3",
    "0.0.0.0/0",
    "v1",
    "_",
    "_a",
    "a1",
    "x1",
    "-",
    "+",
    ".",
    "..",
    "0x1F",
    "0xe",
    "0Xb",
    "0o7",
    "0b1",
    "1_0",
    "1__0",
    "nil",
    "yes!",
    "on_",
    "_on",
    "no.",
    "1e3",
    "1E+3",
    "6.02e23",
]
ALPHABET = "0189_.+-eExXoObB"


#: positions where every generated scalar is tried; the others get the shorter ones
MAIN_POSITIONS = {"k: {s}\n", "{s}: v\n", "- {s}\n", "[a, {s}, b]\n", "{{{s}: v}}\n"}


def _generated_cases():
    """(scalar, position): words and every 1-2 character string over ALPHABET everywhere,
    3-character ones in the main positions."""
    short = ["".join(chars) for n in (1, 2) for chars in itertools.product(ALPHABET, repeat=n)]
    longer = ["".join(chars) for chars in itertools.product(ALPHABET, repeat=3)]
    yield from itertools.product(WORDS + short, POSITIONS)
    yield from itertools.product(longer, sorted(MAIN_POSITIONS))


def _exact_documents(document: str):
    """The exact path's documents, or None where it refuses the text."""
    try:
        return [d.data for d in parse_yaml_stream(document, "t", EXACT.limits, [])]
    except InputError:
        return None


def _fast_documents(document: str):
    """The fast parser's documents, or None where it refuses (the loader then falls back)."""
    try:
        values = [parse_fast(c.text, ParseLimits()) for c in _split_documents(document)]
    except Exception:  # noqa: BLE001 - any refusal sends the document to the exact path
        return None
    return [v for v in values if v is not None]


def _nested(body: str) -> str:
    """``body`` as the value of a key inside an object, indented, line endings kept."""
    newline = "\r\n" if "\r\n" in body else "\n"
    lines = body.replace("\r\n", "\n").splitlines()
    return "apiVersion: v1\nkind: X\nd:\n" + "".join(f"  {line}{newline}" for line in lines)


def _missed_documents(make) -> list:
    missed = []
    for scalar, position in _generated_cases():
        document = make(position.format(s=scalar))
        if document is None:
            continue
        fast = _fast_documents(document)
        if fast is None:
            continue
        exact = _exact_documents(document)
        agree = exact is not None and len(exact) == len(fast) and all(map(same, exact, fast))
        if not agree and not needs_exact_path(document):
            missed.append((document, exact, fast))
    return missed


@needs_fast_parser
def test_detector_flags_every_scalar_the_fast_parser_reads_differently():
    assert _missed_documents(lambda body: body) == []


@needs_fast_parser
def test_detector_flags_every_scalar_inside_objects_too():
    assert _missed_documents(lambda body: None if body.startswith("---") else _nested(body)) == []


def test_detector_leaves_ordinary_manifests_to_the_fast_path():
    manifest = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\n"
        "  labels: {app: web, tier: frontend, version: '1.2'}\n"
        "  annotations:\n    description: region policy only for the north region\n"
        "spec:\n  replicas: 3\n  selector:\n    matchLabels: {app: web}\n  template:\n"
        "    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n"
        "      - name: web\n        image: registry.example.com/shop/web:1.25.3\n"
        "        ports: [{containerPort: 8080, name: http}]\n"
        "        env:\n        - {name: LOG_LEVEL, value: info}\n        - {name: DB_HOST, value: db.shop.svc}\n"
        "        - name: NODE_ENV\n          value: production\n"
        "        securityContext: {runAsNonRoot: true, readOnlyRootFilesystem: true,"
        " allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}\n"
        "        resources: {limits: {cpu: 500m, memory: 256Mi}}\n"
        "        image2: ghcr.io/org/app@sha256:0b1e2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9\n"
    )
    assert not needs_exact_path(manifest)


# --------------------------------------------------------------------------------------
# Property: on real-world manifests both paths give identical data


def _corpus_files() -> list[Path]:
    files = sorted((REPO_ROOT / "fixtures").rglob("*.y*ml"))
    shared = shared_dir()
    if shared is not None:
        for sub in ("conformance/pss", "conformance/netpol/tests"):
            root = shared / sub
            files += sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml"))
    return files


def _outcome(path: Path, options: LoadOptions):
    try:
        result = load_paths([str(path)], options)
    except InputError as error:
        return ("error", str(error))
    return (
        [(o.obj, o.location.line) for o in result.objects],
        [str(w) for w in result.warnings],
    )


def _same_outcome(a, b) -> bool:
    if a[0] == "error" or b[0] == "error":
        return a == b
    return (
        len(a[0]) == len(b[0])
        and all(same(x[0], y[0]) and x[1] == y[1] for x, y in zip(a[0], b[0], strict=False))
        and a[1] == b[1]
    )


def test_both_paths_agree_on_every_fixture_and_conformance_manifest():
    files = _corpus_files()
    if shared_dir() is None:
        pytest.skip("no shared/ directory beside the repository (set KUBE_AUDITOR_SHARED)")
    assert len(files) > 4000
    differing = [
        str(path)
        for path in files
        if not _same_outcome(_outcome(path, FAST), _outcome(path, EXACT))
    ]
    assert differing == []


def test_both_paths_agree_on_the_workshop_fixtures():
    files = sorted((REPO_ROOT / "fixtures").rglob("*.y*ml"))
    assert files
    for path in files:
        assert _same_outcome(_outcome(path, FAST), _outcome(path, EXACT)), path


# --------------------------------------------------------------------------------------
# Aliases


@pytest.mark.parametrize("body", ["v: &a [*a]\n", "v: &a {k: *a}\n", "v: &a\n  - [x, *a]\n"])
def test_recursive_aliases_are_errors_on_both_paths(body):
    # the fast parser reads such an alias as null: documents with aliases take the exact path
    for options in (None, FAST, EXACT):
        with pytest.raises(InputError) as error:
            load_text(HEADER + body, "a.yaml", options=options)
        assert str(error.value) == "a.yaml:4: recursive YAML alias (a node contains itself)"


def test_aliases_are_expanded_alike_on_both_paths():
    body = "base: &b {cpu: 1, list: [a, b]}\nuse: *b\nagain: [*b, *b]\n"
    for options in (None, FAST, EXACT):
        data = loaded(body, options)
        assert data["use"] == data["base"] == {"cpu": 1, "list": ["a", "b"]}
        assert data["again"] == [data["base"], data["base"]]


def test_aliases_are_read_fast_unless_a_null_could_hide_a_recursive_alias():
    # plain aliases: the fast parser reads them as Kubernetes does, and quickly
    assert _fast_read_is_trustworthy("a: &x {k: 1}\nb: *x\n", {"a": {"k": 1}, "b": {"k": 1}})
    # a recursive alias comes out of the fast parser as a null: read again, exactly
    assert not _fast_read_is_trustworthy("a: &x [*x]\n", {"a": [None]})
    # stars in text are not aliases
    assert _fast_read_is_trustworthy('schedule: "*/5 * * * *"\nb: null\n', {"schedule": "x", "b": None})
    assert not needs_exact_path('schedule: "*/5 * * * *"\nargs: [a && b]\nhost: "*.example.com"\n')
    assert not needs_exact_path("verbs: ['*']\nresources: [\"*\"]\n")


def test_a_recursive_alias_is_refused_whatever_the_path():
    for options in (None, FAST, EXACT):
        with pytest.raises(InputError, match="recursive YAML alias"):
            load_text(HEADER + "data: &a [*a]\n", "r.yaml", options=options)


# --------------------------------------------------------------------------------------
# Characters


@pytest.mark.parametrize(
    ("body", "where", "code"),
    [
        ("v: a\x01b\n", "4:5", "0001"),
        ('v: "a\x1bb"\n', "4:6", "001B"),
        ("v: a\x7fb\n", "4:5", "007F"),
        ("v: [é, x\x9fy]\n", "4:9", "009F"),
        ("v: ok\nw: caf\x08é\n", "5:7", "0008"),
    ],
)
def test_control_characters_are_errors_on_both_paths(body, where, code):
    # the fast parser accepts them; YAML readers (libyaml, go-yaml) refuse them
    for options in (None, FAST, EXACT):
        with pytest.raises(InputError) as error:
            load_text(HEADER + body, "c.yaml", options=options)
        assert str(error.value) == (
            f"c.yaml:{where}: character U+{code} is not allowed in YAML "
            "(control characters are not allowed)"
        )


@pytest.mark.parametrize("separator", ["\x85", "\u2028", "\u2029"])
def test_yaml11_line_breaks_are_read_as_kubernetes_reads_them(separator):
    # NEL, LS and PS break lines in YAML 1.1 (libyaml, go-yaml), not in YAML 1.2
    for body in (f'v: "a{separator}b"\n', f"v: a{separator}  b\n", f"v: |\n  a{separator}b\n"):
        outcomes = []
        for options in (None, FAST, EXACT):
            try:
                outcomes.append(loaded(body, options)["v"])
            except InputError as error:
                outcomes.append(str(error))
        assert outcomes[0] == outcomes[1] == outcomes[2]


def test_tabs_line_breaks_and_unicode_are_fine():
    data = loaded('v: "tab\there"\nw: "é ü 日本 \U0001f600"\nx: "a\\u0001b"\n')
    assert data["v"] == "tab\there" and data["w"] == "é ü 日本 \U0001f600"
    assert data["x"] == "a\x01b"  # an escape is not a raw control character


@pytest.mark.parametrize("body", ["v: {{ include \"x\" . }}\n", "v: {[1]: 2}\n", "v: {a: 1, {b: 2}: 3}\n"])
def test_collection_keys_in_flow_mappings_are_errors_on_both_paths(body):
    # a Helm template scanned by mistake, or a complex key: Kubernetes cannot decode either
    assert needs_exact_path(body)
    outcomes = set()
    for options in (None, FAST, EXACT):
        with pytest.raises(InputError) as error:
            load_text(HEADER + body, "k.yaml", options=options)
        outcomes.add(str(error.value))
    assert len(outcomes) == 1, outcomes
