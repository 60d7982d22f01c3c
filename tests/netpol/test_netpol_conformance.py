"""Conformance with the np-guard/netpol-analyzer golden outputs (../shared/conformance/netpol).

Every row of ``cases.tsv`` is a test, discovered from the file:

- ``connlist``: ``kube-auditor netpol list DIR`` must print the golden file byte for byte
  (``{ingress-controller}`` lines included: Ingress and Route exposure is modelled);
- ``exposure``: the coverage analysis must give exactly the golden "Workloads not protected
  by network policies" section, and ``netpol list --exposure DIR`` the whole golden file;
- ``podmap_*``: pod-to-pod answers must match the pod-level maps.

The dataset is located at ``<repo root>/../shared/conformance/netpol``, or under the
directory named by ``KUBE_AUDITOR_SHARED``; it is read, never written. A case this project
decides differently would be listed in ``EXPECTED_DIFFERENCES`` with its reason (argued in
docs/netpol.md) and reported as an expected failure, never skipped silently. There is none.
"""

from __future__ import annotations

import csv
import os
from collections import defaultdict
from pathlib import Path

import pytest
from click.testing import CliRunner
from terminal import show

from auditor.analysis.netpol.engine import Engine
from auditor.analysis.netpol.exposure import unprotected_lines
from auditor.analysis.netpol.model import build_model
from auditor.cli import main
from auditor.inventory import Inventory, load_paths

REPO_ROOT = Path(__file__).resolve().parents[2]


def conformance_dir() -> Path:
    shared = os.environ.get("KUBE_AUDITOR_SHARED")
    base = Path(shared) if shared else REPO_ROOT.parent / "shared"
    return base / "conformance" / "netpol"


CONFORMANCE = conformance_dir()
if not (CONFORMANCE / "cases.tsv").is_file():
    pytest.skip(
        f"NetworkPolicy conformance data not found at {CONFORMANCE} "
        "(set KUBE_AUDITOR_SHARED to the shared directory)",
        allow_module_level=True,
    )

with open(CONFORMANCE / "cases.tsv", encoding="utf-8", newline="") as handle:
    ROWS = list(csv.DictReader(handle, delimiter="\t"))

#: case → reason; each must be argued in docs/netpol.md. Empty: every case agrees.
EXPECTED_DIFFERENCES: dict[tuple[str, str], str] = {}

#: The pod-level maps' questions, from PROVENANCE.md ("Output format: pod-level maps").
PODMAP_QUERIES = {
    "connections_map_output.txt": None,  # the full allowed set
    "connections_map_output_bool.txt": ("", ""),  # empty protocol and port
    "connections_map_with_replicas_output.txt": ("TCP", 80),
    "connections_map_with_replicas_and_variants_output.txt": ("TCP", 80),
}

TALLY: dict[str, list[int]] = defaultdict(lambda: [0, 0])


def rows(*modes: str) -> list:
    return [
        pytest.param(row, id=f"{row['case']}-{row['mode']}")
        for row in ROWS if row["mode"] in modes or (modes == ("podmap",) and row["mode"].startswith("podmap"))
    ]


def record(kind: str, ok: bool) -> None:
    TALLY[kind][1] += 1
    TALLY[kind][0] += ok


@pytest.fixture(scope="module", autouse=True)
def summary(request):
    yield
    parts = ", ".join(f"{kind} {ok}/{total}" for kind, (ok, total) in TALLY.items())
    show(request, f"netpol conformance: {parts}" + (
        f" ({len(EXPECTED_DIFFERENCES)} expected differences)" if EXPECTED_DIFFERENCES else ""
    ))


def expected_text(row: dict) -> str:
    return (CONFORMANCE / row["expected_file"]).read_text(encoding="utf-8")


def case_dir(row: dict) -> str:
    return str(CONFORMANCE / "tests" / row["case"])


def run_cli(*args: str) -> str:
    result = CliRunner().invoke(main, ["netpol", "list", "--quiet", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def check_difference(row: dict) -> None:
    reason = EXPECTED_DIFFERENCES.get((row["case"], row["mode"]))
    if reason:
        pytest.xfail(reason)


@pytest.mark.parametrize("row", rows("connlist"))
def test_connlist(row):
    check_difference(row)
    got = run_cli(case_dir(row))
    ok = got == expected_text(row)
    record("connlist", ok)
    assert got == expected_text(row)


def engine_for(row: dict, pod_level: bool = False) -> Engine:
    loaded = load_paths([case_dir(row)])
    return Engine(build_model(Inventory.from_objects(loaded.objects), pod_level=pod_level))


@pytest.mark.parametrize("row", rows("exposure"))
def test_exposure_coverage(row):
    check_difference(row)
    lines = expected_text(row).splitlines()
    header = "Workloads not protected by network policies:"
    expected = lines[lines.index(header) + 1:] if header in lines else []
    got = unprotected_lines(engine_for(row))
    record("exposure coverage", got == expected)
    assert got == expected
    assert len(expected) == int(row["n_not_protected_lines"])


@pytest.mark.parametrize("row", rows("exposure"))
def test_exposure_full(row):
    check_difference(row)
    got = run_cli("--exposure", case_dir(row))
    ok = got == expected_text(row)
    record("exposure full", ok)
    assert got == expected_text(row)


@pytest.mark.parametrize("row", rows("podmap"))
def test_pod_level_map(row):
    name = Path(row["expected_file"]).name
    assert name in PODMAP_QUERIES, f"no question known for pod map {name} (see PROVENANCE.md)"
    query = PODMAP_QUERIES[name]
    engine = engine_for(row, pod_level=True)
    pods = {w.ref: w for w in engine.model.workloads}
    mismatches = []
    lines = expected_text(row).splitlines()
    for line in lines:
        src_part, dst_part, answer_part = line.split(", ", 2)
        src = pods[src_part.removeprefix("src: ")]
        dst = pods[dst_part.removeprefix("dest: ")]
        expected = answer_part.removeprefix("allowed conns: ")
        if src is dst:  # a pod may always talk to itself
            got = "All Connections" if query is None else "true"
        else:
            conns = engine.class_conns(engine.class_of[id(src)].index, engine.class_of[id(dst)].index)
            if query is None:
                got = str(conns)
            elif query == ("", ""):  # no protocol and port named: only an unrestricted set admits it
                got = str(conns.is_all).lower()
            else:
                got = str(conns.allows(*query)).lower()
        if got != expected:
            mismatches.append(f"{line} (got {got})")
    record("pod maps", not mismatches)
    assert not mismatches
    assert len(lines) == int(row["n_conn_lines"])


def test_every_row_is_covered():
    modes = {row["mode"] for row in ROWS}
    assert modes <= {"connlist", "exposure", "podmap_all", "podmap_bool"}, modes
