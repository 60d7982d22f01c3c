"""The check catalogue follows upstream's registry rules, and the docs show it as it is."""

from __future__ import annotations

from pathlib import Path

from auditor.analysis.pss import CHECKS, CHECKS_BY_ID, Level, Violation, checks_at, evaluate_pod
from auditor.analysis.pss.catalogue import checks_table_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "pod-security.md"


def test_ids_unique_and_indexed():
    assert len(CHECKS_BY_ID) == len(CHECKS)
    assert all(CHECKS_BY_ID[check.id] is check for check in CHECKS)


def test_revisions_increase_and_overrides_replace_baseline_checks():
    for check in CHECKS:
        sinces = [revision.since for revision in check.revisions]
        assert sinces == sorted(set(sinces)), check.id
        assert check.description
        for revision in check.revisions:
            for overridden in revision.overrides:
                assert check.level is Level.RESTRICTED
                assert CHECKS_BY_ID[overridden].level is Level.BASELINE


def test_evaluation_order_is_psa_order():
    baseline = sorted(check.id for check in CHECKS if check.level is Level.BASELINE)
    restricted = sorted(check.id for check in CHECKS if check.level is Level.RESTRICTED)
    assert checks_at("baseline", "latest") == baseline
    overridden = {
        "capabilities_baseline",
        "hostPathVolumes",
        "seccompProfile_baseline",
        "procMount",
    }
    assert (
        checks_at("restricted", "latest")
        == [check_id for check_id in baseline if check_id not in overridden] + restricted
    )
    assert checks_at("privileged") == []


def test_overrides_follow_the_versions_of_the_overriding_checks():
    at = {
        minor: set(checks_at("restricted", f"v1.{minor}")) for minor in (0, 18, 19, 21, 22, 34, 35)
    }
    assert "hostPathVolumes" not in at[0] and "restrictedVolumes" in at[0]
    assert "seccompProfile_baseline" in at[18] and "seccompProfile_restricted" not in at[18]
    assert "seccompProfile_baseline" not in at[19] and "seccompProfile_restricted" in at[19]
    assert "capabilities_baseline" in at[21] and "capabilities_baseline" not in at[22]
    assert "procMount" in at[34] and "procMount_restricted" not in at[34]
    assert "procMount" not in at[35] and "procMount_restricted" in at[35]
    assert "hostProbesAndHostLifecycle" not in at[22] and "hostProbesAndHostLifecycle" in at[34]


def test_violation_rendering():
    violation = Violation("hostNamespaces", "host namespaces", "hostPID=true")
    assert violation.message == "host namespaces (hostPID=true)"
    assert Violation("x", "unknown forbidden reason").message == "unknown forbidden reason"
    assert violation.to_dict() == {
        "check": "hostNamespaces",
        "message": "host namespaces (hostPID=true)",
        "containers": [],
        "paths": [],
        "reason": "host namespaces",
        "detail": "hostPID=true",
    }


def test_denial_message_joins_violations_like_psa():
    spec = {
        "hostIPC": True,
        "volumes": [{"name": "h", "hostPath": {"path": "/"}}],
        "containers": [{"name": "a"}],
    }
    result = evaluate_pod({}, spec, "baseline", "v1.30")
    assert result.denial_message() == (
        'violates PodSecurity "baseline:v1.30": host namespaces (hostIPC=true), '
        'hostPath volumes (volume "h")'
    )


def test_doc_table_matches_registry():
    """docs/pod-security.md embeds the generated table; regenerate it when checks change."""
    assert checks_table_markdown() in DOC.read_text(), (
        "docs/pod-security.md is out of date: paste in "
        "auditor.analysis.pss.catalogue.checks_table_markdown()"
    )
