"""The KA-PSS check rules: one per upstream check, graded, tagged, and exactly PSA's verdict."""

from __future__ import annotations

import pytest
from psskit import (
    CHECK_RULES,
    RULE_OF_CHECK,
    RULES,
    check_rules,
    container,
    cronjob,
    deployment,
    namespace,
    pod,
    pod_spec,
    rows,
    scan,
)

import auditor.analysis.pss_rules as pss_rules
from auditor.analysis.pss import CHECKS, evaluate_pod
from auditor.engine.rules import RulePackError, load_pack

# ---------------------------------------------------------------------------------------
# The pack itself


def test_one_rule_per_upstream_check():
    analyzer_checks = {
        rule.id: rule.check.params["check"]
        for rule in RULES.values()
        if rule.is_analyzer and rule.check.analyzer == "pss.check"
    }
    assert analyzer_checks == CHECK_RULES
    assert set(CHECK_RULES.values()) == {check.id for check in CHECKS}


SEVERITIES = {
    "privileged": "critical",
    "hostNamespaces": "critical",
    "hostPathVolumes": "critical",
    "hostPorts": "high",
    "capabilities_baseline": "high",
    "appArmorProfile": "high",
    "seLinuxOptions": "high",
    "procMount": "high",
    "seccompProfile_baseline": "high",
    "sysctls": "high",
    "windowsHostProcess": "high",
    "hostProbesAndHostLifecycle": "high",
    "allowPrivilegeEscalation": "medium",
    "capabilities_restricted": "medium",
    "procMount_restricted": "low",
    "restrictedVolumes": "low",
    "runAsNonRoot": "medium",
    "runAsUser": "medium",
    "seccompProfile_restricted": "medium",
}


def test_severities():
    assert {check: RULES[RULE_OF_CHECK[check]].severity.value for check in SEVERITIES} == SEVERITIES
    for check in CHECKS:  # baseline high or critical; restricted-only medium or low
        severity = RULES[RULE_OF_CHECK[check.id]].severity.value
        expected = ("critical", "high") if check.level.value == "baseline" else ("medium", "low")
        assert severity in expected, check.id


def test_threat_tags():
    for rule_id in CHECK_RULES:
        rule = RULES[rule_id]
        assert rule.layer.value == "container"
        assert "ElevationOfPrivilege" in rule.stride
        assert "PSA enforce does not judge them" in " ".join(rule.risk.split()), rule_id
    for check in ("hostNamespaces", "hostPathVolumes"):
        assert "InformationDisclosure" in RULES[RULE_OF_CHECK[check]].stride


CIS = {
    "privileged": ["5.2.2"],
    "hostNamespaces": ["5.2.3", "5.2.4", "5.2.5"],
    "allowPrivilegeEscalation": ["5.2.6"],
    "runAsNonRoot": ["5.2.7"],
    "runAsUser": ["5.2.7"],
    "capabilities_restricted": ["5.2.8", "5.2.9", "5.2.10"],
    "capabilities_baseline": ["5.2.9"],
    "windowsHostProcess": ["5.2.11"],
    "hostPathVolumes": ["5.2.12"],
    "hostPorts": ["5.2.13"],
    "seccompProfile_baseline": ["5.7.2"],
    "seccompProfile_restricted": ["5.7.2"],
}


@pytest.mark.parametrize("check", sorted(CIS))
def test_cis_ids(check):
    assert RULES[RULE_OF_CHECK[check]].frameworks["cis"] == CIS[check]


def test_an_unknown_check_id_fails_the_pack_at_load(tmp_path):
    text = tmp_path / "p.yaml"
    text.write_text(
        "apiVersion: kube-auditor.io/v1\nkind: RulePack\nmetadata: {name: t}\nrules:\n"
        "  - id: KA-T-001\n    title: t\n    severity: low\n    stride: [Tampering]\n"
        "    layer: container\n    risk: r\n    remediation: f\n"
        "    check: {analyzer: pss.check, params: {check: hostNetwork}}\n",
        encoding="utf-8",
    )
    with pytest.raises(RulePackError, match=r"check\.params\.check: .*unknown Pod Security check 'hostNetwork'"):
        load_pack(text)


# ---------------------------------------------------------------------------------------
# Level and version


ROOT_POD = pod(pod_spec(container(hardened=False), hardened=False), name="rooter")
HOST_NET = pod(pod_spec(hostNetwork=True), name="hostnet")
PROBE_HOST = pod(
    pod_spec(container(livenessProbe={"httpGet": {"host": "10.0.0.1", "port": 80}})), name="probe"
)
RUN_AS_ZERO = pod(pod_spec(container(securityContext={"runAsUser": 0})), name="zero")


def test_restricted_by_default_and_nothing_restricted_at_baseline():
    restricted = rows(check_rules(scan(ROOT_POD)))
    assert restricted == {
        ("KA-PSS-013", "rooter", "app"),
        ("KA-PSS-014", "rooter", "app"),
        ("KA-PSS-017", "rooter", "app"),
        ("KA-PSS-019", "rooter", "app"),
    }
    assert check_rules(scan(ROOT_POD, level="baseline")) == []


def test_baseline_rules_fire_at_both_levels():
    for level in ("baseline", "restricted"):
        assert rows(check_rules(scan(HOST_NET, level=level))) == {("KA-PSS-002", "hostnet", None)}


@pytest.mark.parametrize(
    "manifest, version, fired",
    [
        (PROBE_HOST, "v1.33", set()),  # the check does not exist before v1.34
        (PROBE_HOST, "v1.34", {"KA-PSS-012"}),
        (PROBE_HOST, "latest", {"KA-PSS-012"}),
        (RUN_AS_ZERO, "v1.22", set()),  # runAsUser arrived in v1.23
        (RUN_AS_ZERO, "v1.23", {"KA-PSS-018"}),
    ],
)
def test_version_switching(manifest, version, fired):
    assert {f.rule for f in check_rules(scan(manifest, version=version))} == fired


def test_messages_name_the_level_and_version():
    (finding,) = scan(HOST_NET, level="baseline", version="v1.30", rules=["KA-PSS-002"])
    assert finding.message.startswith(
        'pod violates PodSecurity "baseline:v1.30": host namespaces (hostNetwork=true); '
    )
    assert finding.details["level"] == "baseline" and finding.details["version"] == "v1.30"


def test_privileged_level_checks_nothing():
    assert scan(pod(pod_spec(container(securityContext={"privileged": True}))), level="privileged") == []


@pytest.mark.parametrize("level, version", [("admin", "latest"), ("baseline", "v2.0"), ("restricted", "1.030")])
def test_invalid_settings_raise(level, version):
    with pytest.raises(ValueError):
        scan(ROOT_POD, level=level, version=version, rules=["KA-PSS-013"])


# ---------------------------------------------------------------------------------------
# Where findings point


def test_paths_are_prefixed_with_the_template_path():
    spec = pod_spec(container("app", securityContext={"privileged": True}))
    by_kind = {
        "Pod": pod(spec),
        "Deployment": deployment(spec),
        "CronJob": cronjob(spec),
    }
    prefixes = {"Pod": "", "Deployment": "spec.template.", "CronJob": "spec.jobTemplate.spec.template."}
    for kind, manifest in by_kind.items():
        (finding,) = scan(manifest, rules=["KA-PSS-001"])
        expected = prefixes[kind] + "spec.containers[0].securityContext.privileged"
        assert finding.path == expected
        assert finding.details["paths"] == [expected]
        assert finding.resource.kind == kind


def test_annotation_paths_are_prefixed_too():
    annotations = {"container.apparmor.security.beta.kubernetes.io/app": "unconfined"}
    (finding,) = scan(deployment(pod_spec(), annotations=annotations), rules=["KA-PSS-006"])
    assert finding.path == (
        "spec.template.metadata.annotations[container.apparmor.security.beta.kubernetes.io/app]"
    )


def test_one_offending_container_is_named_several_are_listed():
    one = deployment(pod_spec(container("app", securityContext={"privileged": True}), container("proxy")))
    (finding,) = scan(one, rules=["KA-PSS-001"])
    assert finding.container == "app"
    assert finding.details["containers"] == ["app"]
    two = deployment(pod_spec(
        container("app", securityContext={"privileged": True}),
        container("proxy", securityContext={"privileged": True}),
        initContainers=[container("init")],
    ))
    (finding,) = scan(two, rules=["KA-PSS-001"])
    assert finding.container is None
    assert finding.details["containers"] == ["app", "proxy"]
    assert 'containers "app", "proxy" must not set securityContext.privileged=true' in finding.message
    assert finding.details["paths"] == [
        "spec.template.spec.containers[0].securityContext.privileged",
        "spec.template.spec.containers[1].securityContext.privileged",
    ]


def test_templates_say_the_workload_is_admitted_and_its_pods_rejected():
    spec = pod_spec(container(securityContext={"privileged": True}))
    (on_pod,) = scan(pod(spec), rules=["KA-PSS-001"])
    (on_template,) = scan(deployment(spec), rules=["KA-PSS-001"])
    assert on_pod.message.endswith("; PSA enforce rejects the Pod")
    assert on_template.message.startswith('pod template violates PodSecurity "restricted:latest": privileged')
    assert on_template.message.endswith("; PSA enforce admits the Deployment but rejects each pod it creates")


def test_details_carry_psa_reason_and_detail():
    (finding,) = scan(HOST_NET, rules=["KA-PSS-002"])
    assert finding.details == {
        "check": "hostNamespaces",
        "level": "restricted",
        "version": "latest",
        "reason": "host namespaces",
        "detail": "hostNetwork=true",
        "containers": [],
        "paths": ["spec.hostNetwork"],
    }


# ---------------------------------------------------------------------------------------
# Restricted checks that override baseline ones


def test_hostpath_at_restricted_is_reported_as_hostpath_not_again_as_a_restricted_volume():
    only_host_path = pod(pod_spec(volumes=[{"name": "logs", "hostPath": {"path": "/var/log"}}]), name="p")
    fired = check_rules(scan(only_host_path))
    assert rows(fired) == {("KA-PSS-003", "p", None)}
    assert fired[0].severity.value == "critical"
    assert fired[0].message.startswith('pod violates PodSecurity "baseline:latest": hostPath volumes (volume "logs")')
    with_nfs = pod(pod_spec(volumes=[
        {"name": "logs", "hostPath": {"path": "/var/log"}},
        {"name": "media", "nfs": {"server": "nfs", "path": "/"}},
    ]), name="p")
    assert rows(check_rules(scan(with_nfs))) == {("KA-PSS-003", "p", None), ("KA-PSS-016", "p", None)}


def test_unconfined_seccomp_is_reported_once_at_high():
    unconfined = pod(pod_spec(securityContext={"seccompProfile": {"type": "Unconfined"}}), name="p")
    assert rows(check_rules(scan(unconfined))) == {("KA-PSS-009", "p", None)}
    assert rows(check_rules(scan(unconfined, level="baseline"))) == {("KA-PSS-009", "p", None)}


def test_added_capabilities_are_high_and_the_missing_drop_medium():
    adds = pod(pod_spec(container(securityContext={"capabilities": {"add": ["SYS_ADMIN"]}})), name="p")
    found = {f.rule: f for f in check_rules(scan(adds))}
    assert set(found) == {"KA-PSS-005", "KA-PSS-014"}
    assert found["KA-PSS-005"].severity.value == "high"


def test_unmasked_proc_outside_and_inside_a_user_namespace():
    unmasked = container(securityContext={"procMount": "Unmasked"})
    assert {f.rule for f in check_rules(scan(pod(pod_spec(unmasked))))} == {"KA-PSS-008"}
    in_userns = pod(pod_spec(unmasked, hostUsers=False))
    assert {f.rule for f in check_rules(scan(in_userns))} == {"KA-PSS-015"}
    assert {f.rule for f in check_rules(scan(in_userns, version="v1.34"))} == {"KA-PSS-008"}


# ---------------------------------------------------------------------------------------
# The verdict is PSA's


VARIED = [
    ROOT_POD, HOST_NET, PROBE_HOST, RUN_AS_ZERO,
    pod(pod_spec(), name="clean"),
    pod(pod_spec(os={"name": "windows"}, securityContext={"seccompProfile": {"type": "Unconfined"}}), name="win"),
    pod(pod_spec(container(securityContext={"capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}})), name="bind"),
    pod(pod_spec(volumes=[{"name": "git", "gitRepo": {"repository": "x"}}]), name="git"),
    pod(pod_spec(securityContext={"sysctls": [{"name": "kernel.msgmax", "value": "1"}]}), name="sysctl"),
    pod(pod_spec(container(ports=[{"containerPort": 80, "hostPort": 80}])), name="port"),
    deployment(pod_spec(container(securityContext={"seLinuxOptions": {"type": "spc_t"}})), name="selinux"),
    cronjob(pod_spec(container(securityContext={"runAsNonRoot": False})), name="nonroot-false"),
]


@pytest.mark.parametrize("level", ["baseline", "restricted"])
@pytest.mark.parametrize("version", ["v1.0", "v1.19", "v1.25", "v1.34", "latest"])
def test_objects_with_findings_are_exactly_those_psa_denies(level, version):
    flagged = {f.resource.name for f in check_rules(scan(VARIED, level=level, version=version))}
    denied = set()
    for manifest in VARIED:
        if manifest["kind"] == "Pod":
            metadata, spec = manifest["metadata"], manifest["spec"]
        elif manifest["kind"] == "CronJob":
            template = manifest["spec"]["jobTemplate"]["spec"]["template"]
            metadata, spec = template["metadata"], template["spec"]
        else:
            metadata, spec = manifest["spec"]["template"]["metadata"], manifest["spec"]["template"]["spec"]
        if not evaluate_pod(metadata, spec, level, version).allowed:
            denied.add(manifest["metadata"]["name"])
    assert flagged == denied
    assert "clean" not in flagged


# ---------------------------------------------------------------------------------------
# Speed: one evaluation per pod spec, whatever the number of rules


def test_each_pod_spec_is_evaluated_once_per_scan(monkeypatch):
    calls = []

    def counting(metadata, spec, level, version="latest"):
        calls.append((level, version))
        return evaluate_pod(metadata, spec, level, version)

    monkeypatch.setattr(pss_rules, "evaluate_pod", counting)
    objects = [deployment(pod_spec(container(hardened=False), hardened=False), name=f"w{i}") for i in range(7)]
    findings = scan(objects)
    assert len({f.rule for f in findings}) >= 4  # several rules fired...
    assert calls == [("restricted", "latest")] * 7  # ...from one evaluation per pod spec


def test_namespace_enforcement_reuses_the_scan_evaluation(monkeypatch):
    calls = []

    def counting(metadata, spec, level, version="latest"):
        calls.append((level, version))
        return evaluate_pod(metadata, spec, level, version)

    monkeypatch.setattr(pss_rules, "evaluate_pod", counting)
    workload = pod_spec(container(hardened=False), hardened=False)
    same = [namespace("a", enforce="restricted")] + [deployment(workload, name=f"w{i}", namespace="a") for i in range(3)]
    assert {f.rule for f in scan(same)} >= {"KA-PSS-013", "KA-PSS-020"}
    assert calls == [("restricted", "latest")] * 3
    calls.clear()
    other = [namespace("b", enforce="baseline", enforce_version="v1.30")] + [
        deployment(workload, name=f"w{i}", namespace="b") for i in range(3)
    ]
    scan(other)
    assert sorted(calls) == [("baseline", "v1.30")] * 3 + [("restricted", "latest")] * 3
