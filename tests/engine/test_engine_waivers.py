"""Waivers (config and annotation) and baselines."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from enginekit import container, deployment, evaluate, make_rule, pod, write_manifests

from auditor.engine.baseline import BaselineError, apply_baseline, load_baseline, write_baseline
from auditor.engine.config import Config, Waiver
from auditor.engine.waivers import WAIVE_ANNOTATION, WAIVE_REASON_ANNOTATION, apply_waivers
from auditor.pipeline import ScanOptions, scan_paths
from auditor.threat import Severity

TODAY = dt.date(2025, 6, 15)

LATEST = make_rule(id="KA-TEST-001", severity="high", target="container",
                   check={"path": "image", "matches": ":latest$"})
NO_LIMITS = make_rule(id="KA-TEST-002", severity="medium", target="container",
                      check={"not": {"path": "resources.limits", "exists": True}})
RULES = [LATEST, NO_LIMITS]


def _objects():
    legacy = deployment(container("app", "app:latest"), name="legacy-billing", namespace="team-a")
    legacy["metadata"]["labels"] = {"tier": "batch"}
    return [
        legacy,
        deployment(container("app", "app:latest"), name="web", namespace="team-b"),
        pod(container("app", "app:latest"), name="debug", namespace="sandbox"),
    ]


def _waive(*waivers: dict, objects=None, today=TODAY):
    findings = evaluate(RULES, objects or _objects())
    notices = apply_waivers(findings, [Waiver.model_validate(w) for w in waivers], today)
    waived = sorted((f.rule, f.resource.name) for f in findings if f.waived)
    return findings, waived, [n.message for n in notices]


SELECTORS = [
    ({"rule": "KA-TEST-001", "reason": "r"},
     [("KA-TEST-001", "debug"), ("KA-TEST-001", "legacy-billing"), ("KA-TEST-001", "web")]),
    ({"rule": "*", "match": {"namespace": "sandbox"}, "reason": "r"},
     [("KA-TEST-001", "debug"), ("KA-TEST-002", "debug")]),
    ({"rule": "KA-TEST-002", "match": {"namespace": "team-*"}, "reason": "r"},
     [("KA-TEST-002", "legacy-billing"), ("KA-TEST-002", "web")]),
    ({"rule": "KA-TEST-002", "match": {"name": "legacy-*"}, "reason": "r"},
     [("KA-TEST-002", "legacy-billing")]),
    ({"rule": "KA-TEST-002", "match": {"name": "*-billing", "namespace": "team-?"}, "reason": "r"},
     [("KA-TEST-002", "legacy-billing")]),
    ({"rule": "KA-TEST-002", "match": {"kind": "Pod"}, "reason": "r"}, [("KA-TEST-002", "debug")]),
    ({"rule": "KA-TEST-002", "match": {"kind": "Deploy*"}, "reason": "r"}, []),  # kinds are exact
    ({"rule": "KA-TEST-002", "match": {"labels": {"tier": "batch"}}, "reason": "r"},
     [("KA-TEST-002", "legacy-billing")]),
    ({"rule": "KA-TEST-002", "match": {"labels": {"tier": "web"}}, "reason": "r"}, []),
    ({"rule": "KA-TEST-002", "match": {"kind": "Deployment", "namespace": "team-a", "name": "web"},
      "reason": "r"}, []),  # every given field must match
    ({"rule": "*", "reason": "r"},
     [("KA-TEST-001", "debug"), ("KA-TEST-001", "legacy-billing"), ("KA-TEST-001", "web"),
      ("KA-TEST-002", "debug"), ("KA-TEST-002", "legacy-billing"), ("KA-TEST-002", "web")]),
]


@pytest.mark.parametrize("waiver, waived", SELECTORS, ids=[str(w) for w, _ in SELECTORS])
def test_config_waiver_selectors(waiver, waived):
    assert _waive(waiver)[1] == waived


def test_a_waived_finding_stays_reported_with_its_reason_but_does_not_count():
    findings, _, _ = _waive({"rule": "KA-TEST-001", "match": {"name": "web"}, "reason": "Pinned in prod (OPS-7)."})
    (waived,) = [f for f in findings if f.waived]
    assert waived.waiver_reason == "Pinned in prod (OPS-7)."
    assert not waived.counts_for_gate
    assert waived.to_dict()["waived"] is True and waived.to_dict()["waiverReason"] == "Pinned in prod (OPS-7)."


@pytest.mark.parametrize(
    "expires, applies",
    [(TODAY - dt.timedelta(days=1), False), (TODAY, True), (TODAY + dt.timedelta(days=1), True), (None, True)],
)
def test_expiry(expires, applies):
    waiver = {"rule": "KA-TEST-001", "match": {"name": "web"}, "reason": "until the migration"}
    if expires:
        waiver["expires"] = expires.isoformat()
    _, waived, notices = _waive(waiver)
    assert bool(waived) is applies
    expired = [n for n in notices if "expired" in n]
    if applies:
        assert not expired
    else:
        assert expired == [f"waiver #1 for KA-TEST-001 expired on {expires.isoformat()} and no longer applies"]


def test_unused_config_waiver_is_reported():
    _, waived, notices = _waive(
        {"rule": "KA-TEST-001", "match": {"name": "web"}, "reason": "used"},
        {"rule": "KA-TEST-002", "match": {"namespace": "gone"}, "reason": "stale"},
    )
    assert waived == [("KA-TEST-001", "web")]
    assert notices == ["waiver for KA-TEST-002 ('stale') matched no finding"]


def _annotated(annotations: dict) -> list[dict]:
    web = deployment(container("app", "app:latest"), name="web", namespace="shop")
    web["metadata"]["annotations"] = annotations
    return [web, pod(container("app", "app:latest"), name="other", namespace="shop")]


ANNOTATIONS = [
    ({WAIVE_ANNOTATION: "KA-TEST-001", WAIVE_REASON_ANNOTATION: "Canary build."}, [("KA-TEST-001", "web")]),
    ({WAIVE_ANNOTATION: " KA-TEST-001 , KA-TEST-002 ", WAIVE_REASON_ANNOTATION: "Demo."},
     [("KA-TEST-001", "web"), ("KA-TEST-002", "web")]),
    ({WAIVE_ANNOTATION: "KA-TEST-003", WAIVE_REASON_ANNOTATION: "Other rule."}, []),
    ({WAIVE_ANNOTATION: "*", WAIVE_REASON_ANNOTATION: "Everything."}, []),  # no blanket waivers on objects
    ({WAIVE_ANNOTATION: "", WAIVE_REASON_ANNOTATION: "Nothing named."}, []),
]


@pytest.mark.parametrize("annotations, waived", ANNOTATIONS, ids=[a[WAIVE_ANNOTATION] or "empty" for a, _ in ANNOTATIONS])
def test_annotation_waivers(annotations, waived):
    findings, got, notices = _waive(objects=_annotated(annotations))
    assert got == waived
    assert notices == []
    for finding in findings:
        if finding.waived:
            assert finding.waiver_reason == annotations[WAIVE_REASON_ANNOTATION]


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_annotation_waiver_without_reason_is_not_honoured_and_reported_once(reason):
    annotations = {WAIVE_ANNOTATION: "KA-TEST-001,KA-TEST-002"}
    if reason is not None:
        annotations[WAIVE_REASON_ANNOTATION] = reason
    findings, waived, notices = _waive(objects=_annotated(annotations))
    assert waived == []
    assert notices == [
        f"Deployment shop/web: annotation {WAIVE_ANNOTATION} has no {WAIVE_REASON_ANNOTATION}; "
        "the waiver is not honoured"
    ]


def test_a_config_waiver_that_matches_an_annotation_waived_finding_is_not_unused():
    annotations = {WAIVE_ANNOTATION: "KA-TEST-001", WAIVE_REASON_ANNOTATION: "Object's own reason."}
    findings, waived, notices = _waive(
        {"rule": "KA-TEST-001", "match": {"name": "web"}, "reason": "Config reason."},
        objects=_annotated(annotations),
    )
    assert waived == [("KA-TEST-001", "web")]
    assert notices == []  # it matched: redundant, not unused
    (finding,) = [f for f in findings if f.waived]
    assert finding.waiver_reason == "Object's own reason."


def test_waivers_in_a_scan_from_files(tmp_path):
    annotated = pod(container("app", "app:latest"), name="canary", namespace="shop",
                    annotations={WAIVE_ANNOTATION: "KA-CTR-004", WAIVE_REASON_ANNOTATION: "Canary."})
    unreasoned = pod(container("app", "app:latest"), name="noreason", namespace="shop",
                     annotations={WAIVE_ANNOTATION: "KA-CTR-004"})
    path = write_manifests(tmp_path / "pods.yaml", annotated, unreasoned)
    config = Config(waivers=[Waiver(rule="KA-CTR-005", match={"namespace": "sh*"}, reason="Digests later.")])
    result = scan_paths([str(path)], ScanOptions(config=config))
    state = {(f.rule, f.resource.name): f.waived for f in result.findings if f.rule in ("KA-CTR-004", "KA-CTR-005")}
    assert state == {
        ("KA-CTR-004", "canary"): True,
        ("KA-CTR-004", "noreason"): False,
        ("KA-CTR-005", "canary"): True,
        ("KA-CTR-005", "noreason"): True,
    }
    (notice,) = [n for n in result.notices if n.category == "waiver"]
    second_document = path.read_text().splitlines().index("---") + 2
    assert (notice.file, notice.line) == (str(path), second_document)
    assert result.summary(Severity.high)["waived"] == 3


# ---------------------------------------------------------------------------------------
# Baseline


def _workloads(*names: str) -> list[dict]:
    return [deployment(container("app", "app:latest"), name=n, namespace="shop") for n in names]


def _scan_file(path: Path, baseline: set[str] | None = None):
    return scan_paths([str(path)], ScanOptions(baseline=baseline))


def test_baseline_round_trip_and_gate(tmp_path):
    manifests = write_manifests(tmp_path / "app.yaml", *_workloads("web", "api"))
    first = _scan_file(manifests)
    assert first.failing(Severity.low)
    count = write_baseline(tmp_path / "baseline.json", first.findings)
    document = json.loads((tmp_path / "baseline.json").read_text())
    assert document["kind"] == "kube-auditor-baseline" and document["version"] == 1
    assert count == len(document["findings"]) == len(first.findings)
    assert {e["fingerprint"] for e in document["findings"]} == {f.fingerprint for f in first.findings}

    fingerprints = load_baseline(tmp_path / "baseline.json")
    again = _scan_file(manifests, fingerprints)
    assert all(f.baselined for f in again.findings)
    assert again.failing(Severity.info) == []
    assert again.summary(Severity.low)["baselined"] == len(again.findings)


def test_baseline_identity_survives_lines_moving_and_catches_new_findings(tmp_path):
    manifests = write_manifests(tmp_path / "app.yaml", *_workloads("web", "api"))
    baseline = {f.fingerprint for f in _scan_file(manifests).findings}
    # Another file, reordered, pushed down by comments, with a new workload: every line moves.
    moved = write_manifests(tmp_path / "moved.yaml", *reversed(_workloads("web", "api")), *_workloads("new"))
    moved.write_text("# comments push everything down\n" * 5 + moved.read_text())
    result = _scan_file(moved, baseline)
    new = {f.resource.name for f in result.findings if not f.baselined}
    old = {f.resource.name for f in result.findings if f.baselined}
    # "shop" is the namespace: its findings (e.g. no NetworkPolicy) keep their identity too
    assert new == {"new"} and old == {"web", "api", "shop"}
    assert {f.resource.name for f in result.failing(Severity.low)} == {"new"}


def test_waived_findings_are_not_written_to_a_baseline(tmp_path):
    findings = evaluate(RULES, _objects())
    apply_waivers(findings, [Waiver(rule="*", match={"namespace": "sandbox"}, reason="r")], TODAY)
    count = write_baseline(tmp_path / "b.json", findings)
    assert count == len([f for f in findings if not f.waived]) < len(findings)
    marked = apply_baseline(findings, load_baseline(tmp_path / "b.json"))
    assert marked == count


BAD_BASELINES = [
    ("not json", "{", "not a baseline file (Expecting property name enclosed in double quotes: "
                      "line 1 column 2 (char 1))"),
    ("wrong kind", '{"kind": "sarif"}', "not a kube-auditor baseline (write one with --write-baseline)"),
    ("a list", "[]", "not a kube-auditor baseline (write one with --write-baseline)"),
    ("wrong version", '{"kind": "kube-auditor-baseline", "version": 9, "findings": []}',
     "baseline version 9 is not supported"),
    ("findings missing", '{"kind": "kube-auditor-baseline", "version": 1}',
     "'findings' must be a list of entries with a fingerprint"),
    ("entry without fingerprint", '{"kind": "kube-auditor-baseline", "version": 1, "findings": [{"rule": "X"}]}',
     "'findings' must be a list of entries with a fingerprint"),
]


@pytest.mark.parametrize("what, text, message", BAD_BASELINES, ids=[b[0] for b in BAD_BASELINES])
def test_bad_baseline_files(tmp_path, what, text, message):
    path = tmp_path / "b.json"
    path.write_text(text)
    with pytest.raises(BaselineError) as error:
        load_baseline(path)
    assert str(error.value) == f"{path}: {message}"


def test_missing_baseline_file(tmp_path):
    with pytest.raises(BaselineError, match="No such file or directory"):
        load_baseline(tmp_path / "none.json")
