"""PSP → Pod Security Standards, one test per decision of the upstream mapping page.

Each row of "Mapping PodSecurityPolicies to Pod Security Standards" (kubernetes.io,
reference/access-authn-authz/psp-to-pod-security-standards) is a test here, starting from a
policy that is restricted on every field and changing one. Where the PSP allowance can be
shown as a pod, the PSA evaluator (auditor.analysis.pss) confirms the direction: the pod the
PSP now admits passes the level the mapping gives and fails the next stricter one.
"""

from __future__ import annotations

import pytest
from pspkit import APPARMOR, SECCOMP, psp

from auditor.analysis.psp import map_psp
from auditor.analysis.psp.mapping import BASELINE_CAPABILITIES, NO_OPINION
from auditor.analysis.pss import evaluate_pod


def level(**kwargs) -> str:
    return map_psp(psp(**kwargs)).level


def row(field: str, version=None, **kwargs):
    return next(f for f in map_psp(psp(**kwargs), version).fields if f.field == field)


def test_the_starting_policy_is_restricted():
    mapping = map_psp(psp())
    assert mapping.level == "restricted"
    assert mapping.blocking == [] and mapping.below_restricted == []


# ---------------------------------------------------------------------------- privileged


def test_privileged_true_is_privileged():
    assert level(privileged=True) == "privileged"
    assert row("privileged", privileged=True).level == "privileged"


def test_privileged_undefined_is_fine():
    assert level(privileged=None) == "restricted"


# ---------------------------------------------------------------------------- capabilities


@pytest.mark.parametrize("caps, expected", [
    ([], "restricted"),
    (["NET_BIND_SERVICE"], "restricted"),
    (["CHOWN"], "baseline"),
    (sorted(BASELINE_CAPABILITIES), "baseline"),
    (["SYS_ADMIN"], "privileged"),
    (["NET_RAW"], "privileged"),
    (["*"], "privileged"),
    (["CAP_CHOWN"], "privileged"),  # compared as written, like PSA
])
def test_allowed_capabilities(caps, expected):
    assert level(allowedCapabilities=caps) == expected


@pytest.mark.parametrize("caps, expected", [
    (["NET_BIND_SERVICE"], "restricted"), (["CHOWN"], "baseline"), (["SYS_PTRACE"], "privileged"),
])
def test_default_add_capabilities_match_allowed_capabilities(caps, expected):
    mapping = row("defaultAddCapabilities", defaultAddCapabilities=caps)
    assert mapping.level == expected
    assert mapping.mutates and caps[0] in mapping.mutates


def test_required_drop_capabilities_must_include_all_for_restricted():
    assert level(requiredDropCapabilities=["NET_RAW"]) == "baseline"
    assert level(requiredDropCapabilities=None) == "baseline"
    assert row("requiredDropCapabilities").mutates == "drops ALL from every container"


def test_added_capability_is_rejected_by_baseline_as_mapped():
    pod = {"containers": [{"name": "c", "securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}]}
    assert not evaluate_pod({}, pod, "baseline").allowed
    pod = {"containers": [{"name": "c", "securityContext": {"capabilities": {"add": ["CHOWN"]}}}]}
    assert evaluate_pod({}, pod, "baseline").allowed and not evaluate_pod({}, pod, "restricted").allowed


# ---------------------------------------------------------------------------- volumes


@pytest.mark.parametrize("volumes, expected", [
    (["configMap", "secret"], "restricted"),
    ([], "restricted"),
    (["nfs"], "baseline"),
    (["configMap", "gcePersistentDisk"], "baseline"),
    (["hostPath"], "privileged"),
    (["*"], "privileged"),
])
def test_volumes(volumes, expected):
    assert level(volumes=volumes) == expected


def test_host_path_volume_fails_baseline():
    spec = {"containers": [{"name": "c"}], "volumes": [{"name": "h", "hostPath": {"path": "/"}}]}
    assert not evaluate_pod({}, spec, "baseline").allowed


def test_allowed_host_paths_have_no_opinion_volumes_take_precedence():
    mapping = row("allowedHostPaths", volumes=["hostPath"], allowedHostPaths=[{"pathPrefix": "/var/log", "readOnly": True}])
    assert mapping.level == NO_OPINION
    assert level(volumes=["hostPath"], allowedHostPaths=[{"pathPrefix": "/var/log", "readOnly": True}]) == "privileged"


@pytest.mark.parametrize("field, value", [
    ("allowedFlexVolumes", [{"driver": "example/lvm"}]),
    ("allowedCSIDrivers", [{"name": "csi.example.com"}]),
])
def test_flex_and_csi_lists_have_no_opinion(field, value):
    assert row(field, **{field: value}).level == NO_OPINION
    assert level(**{field: value}) == "restricted"


# ---------------------------------------------------------------------------- host namespaces and ports


@pytest.mark.parametrize("field", ["hostNetwork", "hostPID", "hostIPC"])
def test_host_namespaces(field):
    assert level(**{field: True}) == "privileged"
    assert level(**{field: None}) == "restricted"
    assert not evaluate_pod({}, {field: True, "containers": [{"name": "c"}]}, "baseline").allowed


def test_host_ports_must_be_empty():
    assert level(hostPorts=[{"min": 8080, "max": 8080}]) == "privileged"
    assert level(hostPorts=[]) == "restricted"


def test_a_host_port_range_of_only_zero_admits_no_host_port():
    assert level(hostPorts=[{"min": 0, "max": 0}]) == "restricted"


# ---------------------------------------------------------------------------- SELinux


def test_selinux_run_as_any_is_privileged():
    assert level(seLinux={"rule": "RunAsAny"}) == "privileged"


@pytest.mark.parametrize("options, expected", [
    ({}, "restricted"),
    ({"type": "container_t"}, "restricted"),
    ({"type": "container_init_t"}, "restricted"),
    ({"type": "container_kvm_t"}, "restricted"),
    ({"level": "s0:c123,c456"}, "restricted"),  # level is anything
    ({"type": "spc_t"}, "privileged"),
    ({"user": "system_u"}, "privileged"),
    ({"role": "system_r"}, "privileged"),
])
def test_selinux_must_run_as_options(options, expected):
    assert level(seLinux={"rule": "MustRunAs", "seLinuxOptions": options}) == expected


def test_selinux_container_engine_t_follows_the_target_version():
    policy = psp(seLinux={"rule": "MustRunAs", "seLinuxOptions": {"type": "container_engine_t"}})
    assert map_psp(policy, "1.30").level == "privileged"  # not in the v1.30 baseline
    assert map_psp(policy, "1.31").level == "restricted"
    assert map_psp(policy).level == "restricted"  # latest
    spec = {"containers": [{"name": "c"}], "securityContext": {"seLinuxOptions": {"type": "container_engine_t"}}}
    assert not evaluate_pod({}, spec, "baseline", "v1.30").allowed
    assert evaluate_pod({}, spec, "baseline", "v1.31").allowed


def test_selinux_must_run_as_mutates_the_options():
    assert row("seLinux").mutates == "seLinuxOptions type: container_t"


# ---------------------------------------------------------------------------- users and groups


@pytest.mark.parametrize("strategy, expected", [
    ({"rule": "MustRunAsNonRoot"}, "restricted"),
    ({"rule": "MustRunAs", "ranges": [{"min": 1000, "max": 2000}]}, "baseline"),
    ({"rule": "RunAsAny"}, "baseline"),
])
def test_run_as_user_only_must_run_as_non_root_is_restricted(strategy, expected):
    assert level(runAsUser=strategy) == expected


def test_run_as_user_mutations():
    assert "runAsNonRoot: true" in row("runAsUser").mutates
    assert row("runAsUser", runAsUser={"rule": "MustRunAs", "ranges": [{"min": 1000, "max": 2000}]}).mutates.startswith("runAsUser: 1000")


@pytest.mark.parametrize("field", ["runAsGroup", "supplementalGroups", "fsGroup"])
def test_group_strategies_have_no_opinion(field):
    for strategy in ({"rule": "RunAsAny"}, {"rule": "MustRunAs", "ranges": [{"min": 0, "max": 10}]}):
        assert row(field, **{field: strategy}).level == NO_OPINION
        assert level(**{field: strategy}) == "restricted"
    assert row(field, **{field: {"rule": "MustRunAs", "ranges": [{"min": 5, "max": 10}]}}).mutates


# ---------------------------------------------------------------------------- the rest of the spec


def test_read_only_root_filesystem_has_no_opinion_but_mutates():
    assert level(readOnlyRootFilesystem=True) == "restricted"
    assert row("readOnlyRootFilesystem", readOnlyRootFilesystem=True).mutates
    assert row("readOnlyRootFilesystem").mutates is None


def test_default_allow_privilege_escalation_is_non_validating():
    mapping = row("defaultAllowPrivilegeEscalation", defaultAllowPrivilegeEscalation=True)
    assert mapping.level == NO_OPINION and mapping.type == "Mutating"
    assert level(defaultAllowPrivilegeEscalation=True) == "restricted"


@pytest.mark.parametrize("value, expected", [(False, "restricted"), (True, "baseline"), (None, "baseline")])
def test_allow_privilege_escalation(value, expected):
    # unset defaults to true in policy/v1beta1
    assert level(allowPrivilegeEscalation=value) == expected


def test_allow_privilege_escalation_false_mutates_only_when_no_default_is_given():
    assert row("allowPrivilegeEscalation").mutates is not None
    assert row("allowPrivilegeEscalation", defaultAllowPrivilegeEscalation=False).mutates is None


def test_unsafe_sysctls_must_be_empty_forbidden_sysctls_have_no_opinion():
    assert level(allowedUnsafeSysctls=["kernel.msg*"]) == "privileged"
    assert level(forbiddenSysctls=["*"]) == "restricted"
    assert row("forbiddenSysctls", forbiddenSysctls=["*"]).level == NO_OPINION


@pytest.mark.parametrize("types, expected", [([], "restricted"), (["Default"], "restricted"), (["Unmasked"], "privileged")])
def test_allowed_proc_mount_types(types, expected):
    assert level(allowedProcMountTypes=types) == expected


def test_runtime_class_has_no_opinion():
    runtime = {"allowedRuntimeClassNames": ["gvisor"], "defaultRuntimeClassName": "gvisor"}
    assert level(runtimeClass=runtime) == "restricted"
    assert row("runtimeClass.defaultRuntimeClassName", runtimeClass=runtime).mutates == (
        "runtimeClassName: gvisor when a pod does not set it"
    )


# ---------------------------------------------------------------------------- annotations


@pytest.mark.parametrize("value, expected", [
    (None, "baseline"),  # absent: no profile may be set (pods run without one)
    ("runtime/default,", "baseline"),  # trailing comma allows unset
    ("runtime/default", "restricted"),
    ("docker/default", "restricted"),
    ("localhost/profiles/app.json", "restricted"),
    ("runtime/default,localhost/app.json", "restricted"),
    ("*", "privileged"),
    ("runtime/default,unconfined", "privileged"),
])
def test_seccomp_allowed_profile_names(value, expected):
    assert level(annotations={SECCOMP: value}) == expected


@pytest.mark.parametrize("value, expected", [
    (None, "privileged"),  # absent: any profile, unconfined included
    ("runtime/default,", "baseline"),
    ("runtime/default", "restricted"),
    ("localhost/k8s-apparmor-example", "restricted"),
    ("unconfined", "privileged"),
])
def test_apparmor_allowed_profile_names(value, expected):
    assert level(annotations={APPARMOR: value}) == expected


def test_unconfined_profiles_fail_baseline_as_mapped():
    seccomp = {"containers": [{"name": "c"}], "securityContext": {"seccompProfile": {"type": "Unconfined"}}}
    assert not evaluate_pod({}, seccomp, "baseline").allowed
    apparmor = {"containers": [{"name": "c"}], "securityContext": {"appArmorProfile": {"type": "Unconfined"}}}
    assert not evaluate_pod({}, apparmor, "baseline").allowed
    unset = {"containers": [{"name": "c"}]}
    assert evaluate_pod({}, unset, "baseline").allowed  # no profile: baseline, not restricted
    assert "seccompProfile_restricted" in evaluate_pod({}, unset, "restricted").checks


def test_default_profile_annotations_mutate_without_an_opinion():
    mapping = map_psp(psp(annotations={"seccomp.security.alpha.kubernetes.io/defaultProfileName": "runtime/default"}))
    default = next(f for f in mapping.fields if f.field.endswith("seccomp.security.alpha.kubernetes.io/defaultProfileName"))
    assert default.level == NO_OPINION and "runtime/default" in default.mutates


# ---------------------------------------------------------------------------- the whole policy


def test_the_least_strict_field_decides_and_is_named():
    mapping = map_psp(psp(volumes=["*"], allowPrivilegeEscalation=True))
    assert mapping.level == "privileged"
    assert [f.field for f in mapping.blocking] == ["volumes"]
    assert {f.field for f in mapping.below_restricted} == {"volumes", "allowPrivilegeEscalation"}


def test_upstream_privileged_example_is_privileged():
    policy = psp(privileged=True, allowPrivilegeEscalation=True, allowedCapabilities=["*"], volumes=["*"],
                 hostNetwork=True, hostPorts=[{"min": 0, "max": 65535}], hostIPC=True, hostPID=True,
                 runAsUser={"rule": "RunAsAny"}, seLinux={"rule": "RunAsAny"}, requiredDropCapabilities=None,
                 annotations={SECCOMP: "*", APPARMOR: None})
    assert map_psp(policy).level == "privileged"


def test_workshop_policy_maps_to_privileged_because_of_volumes_selinux_and_apparmor(tmp_path):
    from auditor.analysis.psp import psps_of
    from auditor.pipeline import ScanOptions, load_inventory
    from auditor.resources import workshop_dir

    inventory, _, _ = load_inventory([str(workshop_dir())], ScanOptions())
    (policy,) = psps_of(inventory)
    mapping = map_psp(policy)
    assert mapping.level == "privileged"
    assert [f.field for f in mapping.blocking] == [
        "volumes", "seLinux", f"annotation {APPARMOR}",
    ]
