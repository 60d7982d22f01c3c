"""Hostile and broken input through the real command line, as a user or CI runs it.

Every case runs ``python -m auditor.cli scan`` in a child process and checks the exit code
(2 for input errors, 0 when only warnings), the one-line message naming file and line, and
that no traceback ever reaches stderr.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"

# Runs the scan in a grandchild and reports its exit code, stderr and peak RSS, so that the
# RSS measured is that one process's (RUSAGE_CHILDREN of a fresh parent).
MEASURE = textwrap.dedent(
    """
    import json, resource, subprocess, sys, time
    start = time.monotonic()
    try:
        done = subprocess.run(sys.argv[2:], capture_output=True, timeout=float(sys.argv[1]))
        code, err = done.returncode, done.stderr.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        code, err = "timeout", ""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({
        "code": code,
        "stderr": err,
        "seconds": time.monotonic() - start,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "max_rss_kb": usage.ru_maxrss,
    }))
    """
)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "KUBE_AUDITOR_DEBUG"}
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["NO_COLOR"] = "1"
    return env


def scan(*args: str, cwd: Path, stdin: str | bytes | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "auditor.cli", "scan", *args],
        check=False,
        input=stdin.encode() if isinstance(stdin, str) else stdin,
        capture_output=True,
        cwd=cwd,
        env=_env(),
        timeout=120,
    )
    done.out = done.stdout.decode("utf-8", "replace")  # type: ignore[attr-defined]
    done.err = done.stderr.decode("utf-8", "replace")  # type: ignore[attr-defined]
    assert "Traceback" not in done.err, done.err
    assert "internal error" not in done.err, done.err
    return done


def assert_input_error(done, message: str) -> None:
    assert done.returncode == 2, (done.returncode, done.err)
    assert done.err == f"kube-auditor: error: {message}\n"


@pytest.fixture
def here(tmp_path: Path) -> Path:
    return tmp_path


def put(directory: Path, name: str, content: str | bytes) -> str:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return name


# --------------------------------------------------------------------------------------
# Alias bombs and recursion


def billion_laughs() -> str:
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata: {name: lol}", "data:"]
    lines.append('  a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]')
    previous = "a"
    for name in "bcdefghi":  # 9 ** 9 = 387,420,489 strings once expanded
        lines.append(f"  {name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
        previous = name
    return CM.format(name="before") + "---\n" + "\n".join(lines) + "\n"


def test_billion_laughs_exits_2_fast_in_bounded_memory_naming_file_and_line(here):
    name = put(here, "laughs.yaml", billion_laughs())
    # The 2-second bound is on the CPU time of the whole run (interpreter start included):
    # wall-clock time on a shared machine measures the neighbours, CPU time measures us.
    # A generous wall-clock timeout still catches a hang. Peak RSS is the scanning process's.
    measured = subprocess.run(
        [sys.executable, "-c", MEASURE, "30", sys.executable, "-m", "auditor.cli", "scan", name],
        check=True,
        capture_output=True,
        cwd=here,
        env=_env(),
        timeout=60,
    )
    report = json.loads(measured.stdout)
    assert report["code"] == 2, report
    assert "Traceback" not in report["stderr"]
    # line 16 holds "g", the first level past 1,000,000 nodes (9 ** 7)
    assert report["stderr"] == (
        f"kube-auditor: error: {name}:16: YAML aliases expand to more than 1,000,000 nodes "
        "(a billion-laughs style document); refusing to expand it\n"
    )
    assert report["cpu_seconds"] < 2.0, report
    assert report["max_rss_kb"] < 200 * 1024, report


@pytest.mark.parametrize(
    ("body", "line"),
    [
        # merge keys that merge aliases of each other
        (
            "  a: &a {x: [1, 2, 3, 4, 5, 6, 7, 8, 9]}\n"
            + "".join(
                f"  {n}: &{n} {{<<: *{p}, y{n}: [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]}}\n"
                for p, n in zip("abcdefghijklmno", "bcdefghijklmnop", strict=False)
            ),
            11,
        ),
        # mappings instead of sequences
        (
            "  a: &a {x0: 1, x1: 1, x2: 1, x3: 1, x4: 1, x5: 1, x6: 1, x7: 1, x8: 1}\n"
            + "".join(
                f"  {n}: &{n} {{" + ", ".join(f"k{i}: *{p}" for i in range(9)) + "}\n"
                for p, n in zip("abcdefgh", "bcdefghi", strict=False)
            ),
            10,
        ),
    ],
    ids=["merge-keys", "mappings"],
)
def test_other_alias_bombs_exit_2(here, body, line):
    name = put(
        here, "bomb.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\ndata:\n" + body
    )
    done = scan(name, cwd=here)
    assert_input_error(
        done,
        f"{name}:{line}: YAML aliases expand to more than 1,000,000 nodes "
        "(a billion-laughs style document); refusing to expand it",
    )


@pytest.mark.parametrize(
    ("body", "line"),
    [
        ("data: &a [*a]\n", 9),
        ("data: &a\n  self: *a\n", 9),
        ("data:\n  outer: &a\n    - inner: [1, *a]\n", 10),
    ],
)
def test_recursive_alias_exits_2_naming_its_line(here, body, line):
    # lines 1-5: another document; 6-8: apiVersion, kind, metadata; the body from line 9
    text = (
        CM.format(name="first") + "---\n" + "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: r}\n"
    )
    name = put(here, "rec.yaml", text + body)
    done = scan(name, cwd=here)
    assert_input_error(done, f"{name}:{line}: recursive YAML alias (a node contains itself)")


# --------------------------------------------------------------------------------------
# Size, bytes and encodings


def test_file_over_max_file_size_exits_2_naming_it(here):
    name = put(
        here,
        "big.yaml",
        CM.format(name="big") + "data:\n" + "".join(f"  k{i}: v\n" for i in range(200)),
    )
    size = (here / name).stat().st_size
    done = scan("--max-file-size", "1k", name, cwd=here)
    assert_input_error(
        done,
        f"{name}: file is {size:,} bytes, over the 1,024-byte limit (raise it with --max-file-size)",
    )
    assert scan("--max-file-size", "1MB", name, cwd=here).returncode == 0


def test_a_large_file_inside_a_directory_is_named_too(here):
    put(here, "dir/small.yaml", CM.format(name="small"))
    put(here, "dir/sub/large.yaml", CM.format(name="large") + "#" * 5000 + "\n")
    done = scan("--max-file-size", "4096", "dir", cwd=here)
    assert done.returncode == 2
    assert done.err.startswith(f"kube-auditor: error: {Path('dir/sub/large.yaml')}: file is ")


def test_stdin_over_max_file_size_exits_2(here):
    done = scan("--max-file-size", "100", "-", cwd=here, stdin=CM.format(name="x") * 10)
    assert_input_error(
        done, "<stdin>: larger than the 100-byte limit (raise it with --max-file-size)"
    )


def test_non_utf8_bytes_exit_2_naming_file_and_line(here):
    name = put(
        here, "latin1.yaml", (CM.format(name="x") + "data:\n  word: caf").encode() + b"\xe9\n"
    )
    done = scan(name, cwd=here)
    assert_input_error(done, f"{name}:6: not valid UTF-8 text (byte 0xe9 at offset 68)")


def test_binary_file_exits_2_naming_it(here):
    name = put(here, "blob.yaml", b"\x7fELF\x02\x01\x01\x00\x00\x00" + bytes(range(256)))
    done = scan(name, cwd=here)
    assert_input_error(done, f"{name}: binary file (contains NUL bytes), not a YAML/JSON manifest")


def test_missing_path_exits_2(here):
    done = scan("missing.yaml", cwd=here)
    assert_input_error(done, "missing.yaml: no such file or directory")


def test_missing_path_after_good_ones_exits_2(here):
    name = put(here, "ok.yaml", CM.format(name="ok"))
    done = scan(name, "nowhere/", cwd=here)
    assert_input_error(done, "nowhere/: no such file or directory")


# --------------------------------------------------------------------------------------
# Syntax errors: file:line:column and the parser's reason


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            CM.format(name="a") + "  labels: {app: web\n",
            "6:1: did not find expected ',' or '}' (while parsing a flow mapping)",
        ),
        (
            # a document after several markers: the line is the file's, not the document's
            CM.format(name="a")
            + "---\n---\n"
            + CM.format(name="b")
            + "--- # third\n"
            + "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n   bad: indent\n",
            "16:7: mapping values are not allowed in this context",
        ),
        (
            CM.format(name="a") + "---\n" + "apiVersion: v1\nkind: ConfigMap\n\tdata: x\n",
            "8:1: found a tab character that violates indentation (while scanning a plain scalar)",
        ),
        (
            "--- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}, data: [1, 2}\n",
            "1:71: did not find expected ',' or ']' (while parsing a flow sequence)",
        ),
        (
            CM.format(name="a") + 'data:\n  motd: "unterminated\n',
            "7:1: found unexpected end of stream (while scanning a quoted scalar)",
        ),
        (
            CM.format(name="a") + "data: *nowhere\n",
            "5:7: found undefined alias",
        ),
    ],
    ids=["flow-mapping", "after-markers", "tab", "marker-line", "quoted", "undefined-alias"],
)
def test_syntax_errors_name_file_line_column_and_reason(here, text, message):
    name = put(here, "broken.yaml", text)
    done = scan(name, cwd=here)
    assert_input_error(done, f"{name}:{message}")


def test_json_syntax_error_names_line_and_column(here):
    name = put(here, "broken.json", '{"apiVersion": "v1",\n "kind": "ConfigMap",,\n}')
    done = scan(name, cwd=here)
    assert_input_error(done, f"{name}:2:22: Expecting property name enclosed in double quotes")


@pytest.mark.parametrize(
    "text",
    [
        "a: " + "[" * 100_000 + "]" * 100_000 + "\n",
        "a: " + "{a: " * 50_000 + "1" + "}" * 50_000 + "\n",
    ],
    ids=["sequences", "mappings"],
)
def test_deeply_nested_flow_collections_exit_2_cleanly(here, text):
    name = put(here, "deep.yaml", text)
    done = scan(name, cwd=here)
    assert done.returncode == 2
    assert done.err.startswith(f"kube-auditor: error: {name}:1:")
    assert "exceeded maximum nesting depth" in done.err
    assert done.err.count("\n") == 1


def test_deeply_nested_json_exits_2_cleanly(here):
    name = put(here, "deep.json", "[" * 200_000 + "]" * 200_000)
    done = scan(name, cwd=here)
    assert done.returncode == 2
    assert done.err.startswith(f"kube-auditor: error: {name}:1")
    assert done.err.count("\n") == 1


# --------------------------------------------------------------------------------------
# Documents that are not objects: warnings, or errors with --strict

WARNED = (
    "- a\n- b\n"  # 1: a list
    "---\n"
    "just text\n"  # 4: a scalar
    "---\n"
    "apiVersion: v1\nmetadata: {name: no-kind}\n"  # 6
    "---\n"
    "kind: ConfigMap\nmetadata: {name: no-api-version}\n"  # 9
    "---\n" + CM.format(name="fine")  # 12
)


def test_non_objects_are_warnings_with_file_and_line_and_exit_0(here):
    name = put(here, "mixed.yaml", WARNED)
    done = scan("--format", "json", name, cwd=here)
    assert done.returncode == 0, done.err
    report = json.loads(done.out)
    assert report["summary"]["objects"] == 1
    assert [(n["file"], n["line"], n["message"]) for n in report["notices"]] == [
        (name, 1, "document is a list, not an object; skipped"),
        (name, 4, "document is a str, not an object; skipped"),
        (name, 6, "object without kind; skipped"),
        (name, 9, "object without apiVersion; skipped"),
    ]
    table = scan(name, cwd=here)
    assert table.returncode == 0
    assert f"{name}:4: document is a str, not an object; skipped" in table.out


def test_strict_makes_warnings_exit_2(here):
    name = put(here, "mixed.yaml", WARNED)
    done = scan("--strict", name, cwd=here)
    assert_input_error(done, f"{name}:1: document is a list, not an object; skipped (--strict)")


def test_strict_on_an_object_without_kind(here):
    name = put(
        here, "nokind.yaml", CM.format(name="a") + "---\napiVersion: v1\nmetadata: {name: b}\n"
    )
    done = scan("--strict", name, cwd=here)
    assert_input_error(done, f"{name}:6: object without kind; skipped (--strict)")
    assert scan(name, cwd=here).returncode == 0


def test_strict_passes_clean_input(here):
    name = put(here, "clean.yaml", CM.format(name="a"))
    assert scan("--strict", name, cwd=here).returncode == 0


def test_duplicate_keys_are_warnings_and_strict_errors(here):
    name = put(here, "dup.yaml", CM.format(name="a") + "  name: b\n")
    done = scan("--format", "json", name, cwd=here)
    assert done.returncode == 0
    assert [(n["line"], n["message"]) for n in json.loads(done.out)["notices"]] == [
        (5, "duplicate key 'name': the last value is used, as Kubernetes' decoder does")
    ]
    strict = scan("--strict", name, cwd=here)
    assert strict.returncode == 2
    assert strict.err.startswith(f"kube-auditor: error: {name}:5:3: duplicate key 'name'")


# --------------------------------------------------------------------------------------
# Unknown kinds are kept: a rule pack can target a custom resource

WIDGET_PACK = """\
apiVersion: kube-auditor.io/v1
kind: RulePack
metadata:
  name: widgets
  description: Rules for a custom resource.
rules:
  - id: TEST-WID-001
    title: Widget is exposed publicly
    severity: high
    stride: [InformationDisclosure]
    layer: cluster
    match:
      kinds: [Widget]
    check: {path: spec.public, equals: true}
    risk: A public widget can be reached by anyone.
    remediation: Set spec.public to false.
"""

WIDGETS = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {kind: Widget, plural: widgets}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: private, namespace: shop}
spec: {public: false}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: open, namespace: shop}
spec:
  public: yes
"""


def test_unknown_kinds_are_kept_and_a_rule_pack_can_target_them(here):
    pack = put(here, "packs/widgets.yaml", WIDGET_PACK)
    name = put(here, "widgets.yaml", WIDGETS)
    done = scan("--format", "json", "--policy", str(Path(pack).parent), name, cwd=here)
    assert done.returncode == 1, done.err  # a high finding fails the default gate
    report = json.loads(done.out)
    assert report["summary"]["objects"] == 3
    widget_findings = [f for f in report["findings"] if f["rule"] == "TEST-WID-001"]
    assert [(f["object"], f["source"]) for f in widget_findings] == [
        (
            {"apiVersion": "example.com/v1", "kind": "Widget", "namespace": "shop", "name": "open"},
            {"file": name, "line": 14},
        )
    ]


def test_unknown_kinds_alone_scan_cleanly(here):
    name = put(here, "widgets.yaml", WIDGETS)
    done = scan("--format", "json", name, cwd=here)
    assert done.returncode == 0, done.err
    assert json.loads(done.out)["summary"]["objects"] == 3


# --------------------------------------------------------------------------------------
# stdin


def test_stdin_yaml_and_json(here):
    yaml_done = scan(
        "--format", "json", "-", cwd=here, stdin=CM.format(name="a") + "---\n" + CM.format(name="b")
    )
    assert yaml_done.returncode == 0, yaml_done.err
    assert json.loads(yaml_done.out)["summary"]["objects"] == 2
    listing = json.dumps(
        {
            "apiVersion": "v1",
            "kind": "List",
            "items": [
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}},
                {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "b"}},
            ],
        },
        indent=2,
    )
    json_done = scan("--format", "json", "-", cwd=here, stdin=listing)
    assert json_done.returncode == 0, json_done.err
    assert json.loads(json_done.out)["summary"]["objects"] == 2


def test_stdin_syntax_error_names_stdin(here):
    done = scan("-", cwd=here, stdin="a: [1, 2\n")
    assert_input_error(
        done, "<stdin>:2:1: did not find expected ',' or ']' (while parsing a flow sequence)"
    )


def test_stdin_binary_exits_2(here):
    done = scan("-", cwd=here, stdin=b"\x00\x01\x02")
    assert_input_error(done, "<stdin>: binary file (contains NUL bytes), not a YAML/JSON manifest")


# --------------------------------------------------------------------------------------
# YAML 1.1 semantics reach the rules: a value kubectl reads as true is true here


def test_yaml11_booleans_reach_the_rules(here):
    pack = put(
        here,
        "packs/priv.yaml",
        WIDGET_PACK.replace("Widget", "Gadget").replace("TEST-WID-001", "TEST-GAD-001"),
    )
    name = put(
        here,
        "gadgets.yaml",
        "apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: on-word}\nspec: {public: on}\n"
        "---\napiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: merged}\n"
        "x-defaults: &d {public: true}\nspec:\n  public: false\n  <<: *d\n",
    )
    done = scan("--format", "json", "--policy", str(Path(pack).parent), name, cwd=here)
    assert done.returncode == 1, done.err
    found = sorted(
        f["object"]["name"] for f in json.loads(done.out)["findings"] if f["rule"] == "TEST-GAD-001"
    )
    assert found == ["merged", "on-word"]


def test_nul_bytes_anywhere_make_a_binary_file(here):
    text = CM.format(name="x") + "#" * 20_000 + "\n" + 'data: {k: "a\x00b"}\n'
    name = put(here, "late-nul.yaml", text.encode())
    done = scan(name, cwd=here)
    assert_input_error(done, f"{name}: binary file (contains NUL bytes), not a YAML/JSON manifest")


def test_control_characters_exit_2_naming_file_line_and_column(here):
    name = put(here, "ctrl.yaml", (CM.format(name="x") + "data: {k: a\x1bb}\n").encode())
    done = scan(name, cwd=here)
    assert_input_error(
        done,
        f"{name}:5:12: character U+001B is not allowed in YAML (control characters are not allowed)",
    )
