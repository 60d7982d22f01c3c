"""Levels, policy versions and version boundaries: a check must not fire before the
version it starts at, and each later revision changes behaviour exactly at its version."""

from __future__ import annotations

import copy

import pytest

from auditor.analysis.pss import (
    CHECKS,
    NEWEST_MINOR,
    Level,
    PolicyVersion,
    evaluate_pod,
    parse_level,
    parse_version,
)

GOOD_SC = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
RESTRICTED_SPEC = {
    "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
    "containers": [{"name": "app", "securityContext": GOOD_SC}],
}


def restricted_spec(
    pod_sc: dict | None = None, container_sc: dict | None = None, **spec_fields
) -> dict:
    spec = copy.deepcopy(RESTRICTED_SPEC)
    spec["securityContext"].update(pod_sc or {})
    spec["containers"][0]["securityContext"].update(container_sc or {})
    spec.update(spec_fields)
    return spec


# --- parsing ---------------------------------------------------------------


@pytest.mark.parametrize(
    "text,minor",
    [
        ("latest", None),
        ("v1.0", 0),
        ("1.0", 0),
        ("v1.22", 22),
        ("1.37", 37),
        ("v1.99", 99),
        (" v1.30 ", 30),
        (None, None),
    ],
)
def test_parse_version_accepts(text, minor):
    assert parse_version(text).minor == minor


@pytest.mark.parametrize(
    "text",
    ["", "v2.0", "v1", "1", "v1.", "v1.01", "v1.2.3", "V1.2", "LATEST", "v1.x", "v1.-1", 1.3],
)
def test_parse_version_rejects_with_a_clear_error(text):
    with pytest.raises(ValueError, match=r'must be "latest" or "v1\.N"'):
        parse_version(text)


def test_versions_above_newest_behave_as_latest_but_keep_their_label():
    assert parse_version("v1.99").effective_minor == NEWEST_MINOR
    spec = {"containers": [{"name": "a", "securityContext": {"privileged": True}}]}
    future = evaluate_pod({}, spec, "baseline", "v1.99")
    latest = evaluate_pod({}, spec, "baseline", "latest")
    assert future.violations == latest.violations
    assert (future.version, future.effective_version) == ("v1.99", f"v1.{NEWEST_MINOR}")
    assert (latest.version, latest.effective_version) == ("latest", f"v1.{NEWEST_MINOR}")
    assert future.denial_message().startswith('violates PodSecurity "baseline:v1.99": privileged (')
    assert latest.denial_message().startswith(
        'violates PodSecurity "baseline:latest": privileged ('
    )


def test_policy_version_objects_are_accepted():
    assert evaluate_pod({}, {}, Level.RESTRICTED, PolicyVersion(30)).version == "v1.30"


def test_levels():
    assert parse_level("restricted") is Level.RESTRICTED
    assert parse_level(Level.BASELINE) is Level.BASELINE
    for bad in ("Restricted", "", "strict", None):
        with pytest.raises(ValueError, match="privileged, baseline, restricted"):
            parse_level(bad)
    with pytest.raises(ValueError):
        evaluate_pod({}, {}, "medium")
    with pytest.raises(ValueError):
        evaluate_pod({}, {}, "baseline", "v1.x")
    with pytest.raises(ValueError):
        evaluate_pod({}, {}, ["restricted"])  # unhashable, still a clear ValueError
    with pytest.raises(ValueError):
        evaluate_pod({}, {}, "restricted", {"v": 1})


def test_privileged_allows_everything_but_still_checks_the_version():
    spec = {
        "hostNetwork": True,
        "containers": [{"name": "a", "securityContext": {"privileged": True}}],
    }
    result = evaluate_pod({}, spec, "privileged")
    assert result.allowed and result.violations == [] and result.denial_message() == ""
    with pytest.raises(ValueError):
        evaluate_pod({}, spec, "privileged", "one")


# --- a check must not fire below its first version --------------------------

# check id -> (level, spec that violates that check and nothing else at its level)
VIOLATORS = {
    "hostProbesAndHostLifecycle": (
        "baseline",
        {"containers": [{"name": "app", "livenessProbe": {"httpGet": {"host": "h", "port": 1}}}]},
    ),
    "allowPrivilegeEscalation": (
        "restricted",
        restricted_spec(container_sc={"allowPrivilegeEscalation": True}),
    ),
    "capabilities_restricted": (
        "restricted",
        restricted_spec(container_sc={"capabilities": {"drop": ["NET_RAW"]}}),
    ),
    "procMount_restricted": (
        "restricted",
        restricted_spec(container_sc={"procMount": "Unmasked"}, hostUsers=False),
    ),
    "runAsUser": ("restricted", restricted_spec(pod_sc={"runAsUser": 0})),
    "seccompProfile_restricted": ("restricted", restricted_spec(pod_sc={"seccompProfile": None})),
}


def test_every_late_check_has_a_violator():
    assert {check.id for check in CHECKS if check.since > 0} == set(VIOLATORS)


@pytest.mark.parametrize("check_id", sorted(VIOLATORS))
def test_check_starts_at_its_first_version(check_id):
    (check,) = [c for c in CHECKS if c.id == check_id]
    level, spec = VIOLATORS[check_id]
    at_since = evaluate_pod({}, spec, level, check.since_version)
    assert at_since.checks == [check_id], at_since.denial_message()
    before = evaluate_pod({}, spec, level, f"v1.{check.since - 1}")
    assert check_id not in before.checks


# --- each later revision changes behaviour at its version -------------------

# (check id, revision version, level, metadata, spec) for a pod that the revision
# changes the verdict of: (denied before, allowed from) or the reverse.
REVISION_CASES = [
    (
        "sysctls",
        27,
        "baseline",
        {},
        {
            "securityContext": {
                "sysctls": [{"name": "net.ipv4.ip_local_reserved_ports", "value": "1"}]
            }
        },
    ),
    (
        "sysctls",
        29,
        "baseline",
        {},
        {"securityContext": {"sysctls": [{"name": "net.ipv4.tcp_keepalive_probes", "value": "9"}]}},
    ),
    (
        "sysctls",
        32,
        "baseline",
        {},
        {
            "securityContext": {
                "sysctls": [{"name": "net.ipv4.tcp_wmem", "value": "4096 65536 16777216"}]
            }
        },
    ),
    (
        "sysctls",
        37,
        "baseline",
        {},
        {
            "securityContext": {
                "sysctls": [{"name": "net.ipv4.tcp_notsent_lowat", "value": "16384"}]
            }
        },
    ),
    (
        "seLinuxOptions",
        31,
        "baseline",
        {},
        {
            "containers": [
                {"name": "a", "securityContext": {"seLinuxOptions": {"type": "container_engine_t"}}}
            ]
        },
    ),
    (
        "seccompProfile_baseline",
        19,
        "baseline",
        {"annotations": {"seccomp.security.alpha.kubernetes.io/pod": "unconfined"}},
        {"containers": [{"name": "a"}]},
    ),
    (
        "seccompProfile_baseline",
        19,
        "baseline",
        {},
        {
            "securityContext": {"seccompProfile": {"type": "Unconfined"}},
            "containers": [{"name": "a"}],
        },
    ),
    (
        "procMount",
        35,
        "baseline",
        {},
        {
            "hostUsers": False,
            "containers": [{"name": "a", "securityContext": {"procMount": "Unmasked"}}],
        },
    ),
    (
        "runAsNonRoot",
        35,
        "restricted",
        {},
        restricted_spec(pod_sc={"runAsNonRoot": False}, hostUsers=False),
    ),
    ("runAsUser", 35, "restricted", {}, restricted_spec(pod_sc={"runAsUser": 0}, hostUsers=False)),
    (
        "allowPrivilegeEscalation",
        25,
        "restricted",
        {},
        restricted_spec(container_sc={"allowPrivilegeEscalation": None}, os={"name": "windows"}),
    ),
    (
        "capabilities_restricted",
        25,
        "restricted",
        {},
        restricted_spec(container_sc={"capabilities": None}, os={"name": "windows"}),
    ),
    (
        "seccompProfile_restricted",
        25,
        "restricted",
        {},
        restricted_spec(pod_sc={"seccompProfile": None}, os={"name": "windows"}),
    ),
]


def test_every_later_revision_has_a_case():
    revisions = {(check.id, revision.since) for check in CHECKS for revision in check.revisions[1:]}
    assert revisions == {(check_id, since) for check_id, since, *_ in REVISION_CASES}


@pytest.mark.parametrize(
    "check_id,since,level,metadata,spec",
    REVISION_CASES,
    ids=[f"{case[0]}@v1.{case[1]}-{i}" for i, case in enumerate(REVISION_CASES)],
)
def test_revision_changes_verdict_at_its_version(check_id, since, level, metadata, spec):
    before = check_id in evaluate_pod(metadata, spec, level, f"v1.{since - 1}").checks
    after = check_id in evaluate_pod(metadata, spec, level, f"v1.{since}").checks
    assert before != after
