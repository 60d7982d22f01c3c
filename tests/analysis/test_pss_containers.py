"""Every check that visits containers must see ephemeral and init containers too.

Upstream's fixtures only have one container and one init container; PSA also walks
``ephemeralContainers`` (added by ``kubectl debug``), which is how a debugging session
can smuggle a privileged container into a running pod. Each case starts from a pod
that satisfies restricted and breaks exactly one check in one extra container.
"""

from __future__ import annotations

import copy

import pytest

from auditor.analysis.pss import evaluate_pod

GOOD_SC = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


def restricted_pod(extra_kind: str, extra: dict) -> dict:
    """A restricted-compliant pod plus ``extra`` appended to ``spec.<extra_kind>``."""
    spec = {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{"name": "app", "image": "app", "securityContext": copy.deepcopy(GOOD_SC)}],
    }
    spec.setdefault(extra_kind, []).append(extra)
    return spec


def extra_container(sc_changes: dict | None = None, **fields) -> dict:
    sc = copy.deepcopy(GOOD_SC)
    sc.update(sc_changes or {})
    return {"name": "debugger", "image": "busybox", "securityContext": sc, **fields}


# (check reported, level, container, field path under the container)
CASES = [
    ("privileged", "baseline", extra_container({"privileged": True}), "securityContext.privileged"),
    (
        "hostPorts",
        "baseline",
        extra_container(ports=[{"containerPort": 80, "hostPort": 8080}]),
        "ports[0].hostPort",
    ),
    (
        "capabilities_baseline",
        "baseline",
        extra_container({"capabilities": {"add": ["NET_RAW"]}}),
        "securityContext.capabilities.add",
    ),
    (
        "capabilities_restricted",
        "restricted",
        extra_container({"capabilities": {"drop": []}}),
        "securityContext.capabilities.drop",
    ),
    (
        "appArmorProfile",
        "baseline",
        extra_container({"appArmorProfile": {"type": "Unconfined"}}),
        "securityContext.appArmorProfile.type",
    ),
    (
        "seLinuxOptions",
        "baseline",
        extra_container({"seLinuxOptions": {"type": "spc_t"}}),
        "securityContext.seLinuxOptions.type",
    ),
    (
        "procMount",
        "baseline",
        extra_container({"procMount": "Unmasked"}),
        "securityContext.procMount",
    ),
    (
        "procMount_restricted",
        "restricted",
        extra_container({"procMount": "Unmasked"}),
        "securityContext.procMount",
    ),
    (
        "seccompProfile_baseline",
        "baseline",
        extra_container({"seccompProfile": {"type": "Unconfined"}}),
        "securityContext.seccompProfile.type",
    ),
    (
        "seccompProfile_restricted",
        "restricted",
        extra_container({"seccompProfile": {"type": "Unconfined"}}),
        "securityContext.seccompProfile.type",
    ),
    (
        "windowsHostProcess",
        "baseline",
        extra_container({"windowsOptions": {"hostProcess": True}}),
        "securityContext.windowsOptions.hostProcess",
    ),
    (
        "hostProbesAndHostLifecycle",
        "baseline",
        extra_container(readinessProbe={"httpGet": {"host": "10.0.0.1", "port": 80}}),
        "readinessProbe.httpGet.host",
    ),
    (
        "hostProbesAndHostLifecycle",
        "baseline",
        extra_container(lifecycle={"preStop": {"tcpSocket": {"host": "metadata", "port": 80}}}),
        "lifecycle.preStop.tcpSocket.host",
    ),
    (
        "allowPrivilegeEscalation",
        "restricted",
        extra_container({"allowPrivilegeEscalation": True}),
        "securityContext.allowPrivilegeEscalation",
    ),
    (
        "runAsNonRoot",
        "restricted",
        extra_container({"runAsNonRoot": False}),
        "securityContext.runAsNonRoot",
    ),
    ("runAsUser", "restricted", extra_container({"runAsUser": 0}), "securityContext.runAsUser"),
]


@pytest.mark.parametrize("kind", ["ephemeralContainers", "initContainers"])
@pytest.mark.parametrize(
    "check,level,container,field",
    CASES,
    ids=[f"{check}-{field.split('.')[-1]}-{level}" for check, level, _, field in CASES],
)
def test_extra_container_kinds_are_checked(kind, check, level, container, field):
    spec = restricted_pod(kind, container)
    assert evaluate_pod({}, restricted_pod(kind, extra_container()), "restricted").allowed

    result = evaluate_pod({"name": "p"}, spec, level)
    assert result.checks == [check], result.denial_message()
    violation = result.violations[0]
    assert violation.containers == ("debugger",)
    assert violation.paths == (f"spec.{kind}[0].{field}",)
    assert '"debugger"' in violation.detail


def test_seccomp_annotation_names_ephemeral_containers():
    """Before v1.19 seccomp was set by per-container annotations, ephemeral ones included."""
    spec = {"containers": [{"name": "app"}], "ephemeralContainers": [{"name": "debugger"}]}
    metadata = {
        "annotations": {"container.seccomp.security.alpha.kubernetes.io/debugger": "unconfined"}
    }
    result = evaluate_pod(metadata, spec, "baseline", "v1.18")
    assert result.checks == ["seccompProfile_baseline"]
    assert result.violations[0].message == (
        "seccompProfile (forbidden annotation "
        'container.seccomp.security.alpha.kubernetes.io/debugger="unconfined")'
    )
    assert result.violations[0].paths == (
        "metadata.annotations[container.seccomp.security.alpha.kubernetes.io/debugger]",
    )
    # annotations for containers the pod doesn't have are not looked at
    orphan = {"annotations": {"container.seccomp.security.alpha.kubernetes.io/ghost": "unconfined"}}
    assert evaluate_pod(orphan, spec, "baseline", "v1.18").allowed


def test_implicit_restricted_requirements_name_each_container_kind():
    spec = {
        "initContainers": [{"name": "init"}],
        "containers": [{"name": "app"}],
        "ephemeralContainers": [{"name": "debugger"}],
    }
    result = evaluate_pod({}, spec, "restricted", "v1.37")
    by_check = {violation.check: violation for violation in result.violations}
    assert by_check["allowPrivilegeEscalation"].detail == (
        'containers "init", "app", "debugger" must set securityContext.allowPrivilegeEscalation=false'
    )
    assert by_check["runAsNonRoot"].detail == (
        'pod or containers "init", "app", "debugger" must set securityContext.runAsNonRoot=true'
    )
    assert by_check["seccompProfile_restricted"].paths == (
        "spec.initContainers[0].securityContext.seccompProfile.type",
        "spec.containers[0].securityContext.seccompProfile.type",
        "spec.ephemeralContainers[0].securityContext.seccompProfile.type",
    )


def test_restartable_init_containers_are_ordinary_init_containers():
    """Sidecars (restartPolicy: Always) get no special treatment: probes with a host fail."""
    sidecar = {
        "name": "sidecar",
        "restartPolicy": "Always",
        "startupProbe": {"tcpSocket": {"host": "169.254.169.254", "port": 80}},
        "livenessProbe": {"httpGet": {"host": "10.0.0.1", "port": 80}},
    }
    plain_init = {"name": "setup", "readinessProbe": {"httpGet": {"host": "10.0.0.1", "port": 80}}}
    spec = {"initContainers": [sidecar, plain_init], "containers": [{"name": "app"}]}
    result = evaluate_pod({}, spec, "baseline", "v1.34")
    assert result.checks == ["hostProbesAndHostLifecycle"]
    # containers and hosts are reported sorted and de-duplicated, like PSA's sets
    assert result.violations[0].message == (
        'probe or lifecycle host (containers "setup", "sidecar" use probe or lifecycle hosts '
        '"10.0.0.1", "169.254.169.254")'
    )
    assert result.violations[0].paths == (
        "spec.initContainers[0].livenessProbe.httpGet.host",
        "spec.initContainers[0].startupProbe.tcpSocket.host",
        "spec.initContainers[1].readinessProbe.httpGet.host",
    )
    assert evaluate_pod({}, spec, "baseline", "v1.33").allowed
    # no host (or an empty one) is fine, and so is an exec probe
    fine = {
        "initContainers": [
            {
                "name": "s",
                "restartPolicy": "Always",
                "livenessProbe": {"httpGet": {"host": "", "port": 80}},
                "readinessProbe": {"exec": {"command": ["true"]}},
            }
        ]
    }
    assert evaluate_pod({}, fine, "baseline").allowed
