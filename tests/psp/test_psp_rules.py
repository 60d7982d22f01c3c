"""The psp rule pack: what fires, how findings are graded by audience, and Kubernetes 1.25+."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from pspkit import admin_binding, binding, found, psp_obj, scan, use_role

from auditor.cli import main
from auditor.resources import workshop_dir

BROAD = [use_role("psp", "p"), binding("all", "ClusterRole/psp", "group:system:authenticated")]
NAMED = [use_role("psp", "p"), binding("web", "ClusterRole/psp", "sa:shop:web", namespace="shop")]


def test_a_restricted_policy_has_no_findings():
    assert found(scan(psp_obj(readOnlyRootFilesystem=True), *NAMED)) == {}


@pytest.mark.parametrize("spec, rule", [
    ({"privileged": True}, "KA-PSP-001"),
    ({"hostPID": True}, "KA-PSP-002"),
    ({"hostPorts": [{"min": 80, "max": 80}]}, "KA-PSP-003"),
    ({"allowPrivilegeEscalation": None}, "KA-PSP-004"),
    ({"allowedCapabilities": ["SYS_ADMIN"]}, "KA-PSP-005"),
    ({"allowedCapabilities": ["*"]}, "KA-PSP-005"),
    ({"defaultAddCapabilities": ["CAP_NET_RAW"]}, "KA-PSP-005"),  # CAP_ prefix and default adds count
    ({"defaultAddCapabilities": ["CHOWN"]}, "KA-PSP-006"),
    ({"volumes": ["*"]}, "KA-PSP-007"),
    ({"volumes": ["hostPath"]}, "KA-PSP-007"),
    ({"volumes": ["hostPath"], "allowedHostPaths": [{"pathPrefix": "/var/log"}]}, "KA-PSP-008"),
    ({"runAsUser": {"rule": "RunAsAny"}}, "KA-PSP-009"),
    ({"runAsUser": {"rule": "MustRunAs", "ranges": [{"min": 0, "max": 100}]}}, "KA-PSP-009"),
    ({"runAsUser": None}, "KA-PSP-009"),
    ({"seLinux": {"rule": "RunAsAny"}}, "KA-PSP-010"),
    ({"allowedUnsafeSysctls": ["net.core.*"]}, "KA-PSP-012"),
])
def test_each_check_fires_on_its_field(spec, rule):
    result = found(scan(psp_obj(readOnlyRootFilesystem=True, **spec), *NAMED))
    assert rule in result, result


def test_writable_root_is_reported_unless_read_only():
    assert "KA-PSP-011" in found(scan(psp_obj(), *NAMED))


@pytest.mark.parametrize("spec", [
    {"hostPorts": [{"min": 0, "max": 0}]},
    {"volumes": ["hostPath"], "allowedHostPaths": [{"pathPrefix": "/var/log", "readOnly": True}]},
    {"runAsUser": {"rule": "MustRunAs", "ranges": [{"min": 1, "max": 100}]}},
    {"allowedCapabilities": ["NET_BIND_SERVICE", "CHOWN"]},
])
def test_safe_variants_stay_silent(spec):
    assert found(scan(psp_obj(readOnlyRootFilesystem=True, **spec), *NAMED)) == {}


def test_grading_follows_the_audience():
    named = found(scan(psp_obj(privileged=True, readOnlyRootFilesystem=True), *NAMED))
    broad = found(scan(psp_obj(privileged=True, readOnlyRootFilesystem=True), *BROAD))
    nobody = found(scan(psp_obj(privileged=True, readOnlyRootFilesystem=True)))
    admins = found(scan(psp_obj(privileged=True, readOnlyRootFilesystem=True), *admin_binding("root", "user:root")))
    assert named == {"KA-PSP-001": "high"}
    assert broad == {"KA-PSP-001": "critical"}
    assert nobody == {"KA-PSP-001": "info"}
    assert admins == {"KA-PSP-001": "info"}


def test_broad_grade_is_per_rule():
    broad = found(scan(psp_obj(), *BROAD))
    assert broad == {"KA-PSP-011": "medium"}  # low, one step up when everyone may use it


def test_messages_name_the_field_and_who_may_use_it():
    (finding,) = scan(psp_obj(volumes=["*"], readOnlyRootFilesystem=True), *NAMED).findings
    assert "volumes include '*'" in finding.message
    assert "ServiceAccount shop/web in namespace shop (RoleBinding shop/web → ClusterRole psp)" in finding.message
    assert finding.details["audience"] == "named"
    assert finding.details["usableBy"][0]["id"] == "sa:shop:web"


def test_extensions_v1beta1_policies_are_read():
    obj = psp_obj(privileged=True, readOnlyRootFilesystem=True, api_version="extensions/v1beta1")
    assert "KA-PSP-001" in found(scan(obj, *NAMED))


@pytest.mark.parametrize("version", ["1.25", "1.30", "v1.30.2", "2.0"])
def test_policies_are_inert_from_1_25(version):
    result = found(scan(psp_obj(privileged=True), *NAMED, kube_version=version))
    assert result == {"KA-PSP-013": "info"}


@pytest.mark.parametrize("version", [None, "1.24", "v1.21.3"])
def test_policies_are_live_before_1_25(version):
    result = found(scan(psp_obj(privileged=True), *NAMED, kube_version=version))
    assert "KA-PSP-013" not in result and "KA-PSP-001" in result


def test_an_unparsable_version_in_library_settings_counts_as_unknown():
    result = found(scan(psp_obj(privileged=True), *NAMED, kube_version="banana"))
    assert "KA-PSP-001" in result and "KA-PSP-013" not in result


def test_inert_message_gives_the_equivalent_level():
    (finding,) = scan(psp_obj(), *NAMED, kube_version="1.30").findings
    assert "does nothing on Kubernetes 1.30" in finding.message
    assert finding.details == {"kubeVersion": "1.30", "pssLevel": "restricted"}


def test_scan_kube_version_option():
    runner = CliRunner()
    workshop = str(workshop_dir())
    result = runner.invoke(main, ["scan", workshop, "--format", "json", "--kube-version", "1.30", "--fail-on", "none"])
    assert result.exit_code == 0, result.output
    rules = {f["rule"] for f in json.loads(result.stdout)["findings"] if f["rule"].startswith("KA-PSP")}
    assert rules == {"KA-PSP-013"}
    bad = runner.invoke(main, ["scan", workshop, "--kube-version", "one.thirty"])
    assert bad.exit_code == 2
    assert "--kube-version" in bad.stderr and "Traceback" not in bad.output
