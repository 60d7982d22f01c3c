"""Conformance: every upstream Pod Security Admission fixture, at its level and version.

The fixture tree (``<level>/v1.<minor>/<pass|fail>/<name>.yaml``) is discovered, not
listed, so a refreshed snapshot is picked up as is. Expectations come from the tree
(pass/fail) and from ``index.tsv`` (which check must report a failure, and a substring
its message must contain). Each fixture is also held to the cross-level properties:
restricted-pass implies baseline-pass, baseline-fail implies restricted-fail, and the
privileged level allows everything. And the screened evaluation must equal the
exhaustive one (every check run).

The data lives outside the repository, at ``<repo>/../shared/conformance/pss`` or
``$KUBE_AUDITOR_SHARED/conformance/pss``.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest
import yaml
from terminal import show

from auditor.analysis.pss import evaluate_pod
from auditor.analysis.pss.evaluator import evaluate_pod_exhaustively

YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _conformance_root() -> Path:
    shared = os.environ.get("KUBE_AUDITOR_SHARED")
    base = Path(shared) if shared else Path(__file__).resolve().parents[2].parent / "shared"
    return base / "conformance" / "pss"


ROOT = _conformance_root()
TESTDATA = ROOT / "testdata"


def _discover() -> list[tuple[str, str, str, Path]]:
    """(level, version, expectation, file) for every fixture YAML in the tree."""
    found = []
    if not TESTDATA.is_dir():
        return found
    for level_dir in sorted(p for p in TESTDATA.iterdir() if p.is_dir()):
        for version_dir in sorted(p for p in level_dir.iterdir() if p.is_dir()):
            for expectation in ("pass", "fail"):
                for path in sorted((version_dir / expectation).glob("*.yaml")):
                    found.append((level_dir.name, version_dir.name, expectation, path))
    return found


def _index() -> dict[str, dict[str, str]]:
    index_file = ROOT / "index.tsv"
    if not index_file.is_file():
        return {}
    with index_file.open(newline="") as handle:
        return {row["path"]: row for row in csv.DictReader(handle, delimiter="\t")}


FIXTURES = _discover()
INDEX = _index()

pytestmark = pytest.mark.skipif(not FIXTURES, reason=f"PSS conformance data not found at {ROOT}")

_attempted: list[str] = []
_agreed: list[str] = []


@pytest.fixture(scope="module", autouse=True)
def conformance_summary(request):
    """Print how many of the fixtures run agreed, once the module is done."""
    yield
    if not _attempted:
        return
    show(request, f"PSS conformance: {len(_agreed)}/{len(_attempted)} fixtures agree")


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_index_covers_every_fixture():
    """index.tsv and the tree describe the same files, so no fixture goes unchecked."""
    on_disk = {_relative(path) for *_, path in FIXTURES}
    assert on_disk == set(INDEX)


@pytest.mark.parametrize(
    "level,version,expectation,path",
    FIXTURES,
    ids=[_relative(path) for *_, path in FIXTURES],
)
def test_fixture(level, version, expectation, path):
    _attempted.append(_relative(path))
    with path.open() as handle:
        pod = yaml.load(handle, Loader=YAML_LOADER)
    metadata, spec = pod.get("metadata"), pod.get("spec")
    result = evaluate_pod(metadata, spec, level, version)
    row = INDEX[_relative(path)]
    # the screen may skip checks, never change the outcome
    assert result.violations == evaluate_pod_exhaustively(metadata, spec, level, version).violations

    if expectation == "pass":
        assert result.allowed, result.denial_message()
        if level == "restricted":
            baseline = evaluate_pod(metadata, spec, "baseline", version)
            assert baseline.allowed, (
                "restricted pass must pass baseline: " + baseline.denial_message()
            )
    else:
        assert not result.allowed
        assert row["reported_by_check_at_this_level"] in result.checks, result.denial_message()
        assert row["expect_error_substring"] in result.denial_message()
        if level == "baseline":
            assert not evaluate_pod(metadata, spec, "restricted", version).allowed
    assert evaluate_pod(metadata, spec, "privileged", version).allowed
    _agreed.append(_relative(path))
