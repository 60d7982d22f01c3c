"""Table of hand-written cases (pss_fixtures/cases.yaml): AppArmor fields, Windows and
user-namespace exemptions, pod/container inheritance, wording, and malformed input."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from auditor.analysis.pss import evaluate_pod

CASES_FILE = Path(__file__).parent / "pss_fixtures" / "cases.yaml"
CASES = yaml.safe_load(CASES_FILE.read_text())


def _params():
    for case in CASES:
        for version in case["versions"]:
            yield pytest.param(case, version, id=f"{case['id']}@{version}")


def test_case_ids_are_unique():
    ids = [case["id"] for case in CASES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("case,version", list(_params()))
def test_case(case, version):
    result = evaluate_pod(case.get("metadata"), case.get("spec"), case["level"], version)
    assert result.allowed is case["allowed"], result.denial_message()
    expected = case.get("violations")
    if expected is None:
        return
    assert [(v.check, v.message) for v in result.violations] == [
        (item["check"], item["message"]) for item in expected
    ]
    for violation, item in zip(result.violations, expected, strict=True):
        if "containers" in item:
            assert list(violation.containers) == item["containers"]
        if "paths" in item:
            assert list(violation.paths) == item["paths"]


class _TrackedDict(dict):
    """What a line-tracking YAML loader hands over: dict and list subclasses."""


class _TrackedList(list):
    pass


def _tracked(value):
    if isinstance(value, dict):
        return _TrackedDict({key: _tracked(item) for key, item in value.items()})
    if isinstance(value, list):
        return _TrackedList(_tracked(item) for item in value)
    return value


@pytest.mark.parametrize("case,version", list(_params()))
def test_dict_and_list_subclasses_read_like_plain_ones(case, version):
    plain = evaluate_pod(case.get("metadata"), case.get("spec"), case["level"], version)
    tracked = evaluate_pod(
        _tracked(case.get("metadata")), _tracked(case.get("spec")), case["level"], version
    )
    assert tracked.violations == plain.violations
