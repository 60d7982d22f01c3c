"""The workshop scenario in a real API server: a live scan finds what the file scan finds.

A private server (so no other test's objects show up) gets fixtures/workshop: namespaces
first, each with its ``default`` ServiceAccount as a cluster's controllers would create it.
The PodSecurityPolicy is skipped: ``policy/v1beta1`` is not served since Kubernetes 1.25.

Then:

* ``scan --cluster`` finds exactly the findings of ``scan fixtures/workshop`` (same rule,
  object, container and message); the sets of differences are pinned (both empty today);
* the fields the API server fills in are pinned too (docs/live.md explains which matter);
* a snapshot of the cluster, scanned as a file, gives the live findings again;
* the CLI: exit codes, the report formats with ``cluster:`` locations.
"""

from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner
from harness.apiserver import HarnessError, KubeAPIServer, require_binaries
from live_helpers import apply_manifests, finding_rows, read, scan_files, scan_live
from terminal import show

from auditor.cli import main
from auditor.inventory.kinds import CLUSTER_SCOPED_KINDS
from auditor.inventory.snapshot import read_header
from auditor.resources import workshop_dir

pytestmark = pytest.mark.e2e

#: Findings of the file scan that the live scan does not have, and the reverse. Objects the
#: server cannot hold (the PodSecurityPolicy) have no finding today, and no defaulted field
#: changes a finding; see docs/live.md.
#: Kubernetes 1.37 does not serve policy/v1beta1 PodSecurityPolicy (removed in 1.25), so
#: the workshop's PSP exists only in the files.
ONLY_IN_FILES: set[tuple] = {
    (rule, "PodSecurityPolicy", None, "psp-example", None)
    for rule in ("KA-PSP-004", "KA-PSP-007", "KA-PSP-010", "KA-PSP-011")
}
#: The API server creates Namespace default; the manifests only imply it, and an implied
#: namespace's labels are unknown, so only the live scan can say it enforces no level.
ONLY_LIVE: set[tuple] = {("KA-PSS-021", "Namespace", None, "default", None)}

#: Fields the API server adds to the workshop's objects (defaulting and admission), by kind.
#: Metadata and status aside. docs/live.md says which can matter to a rule.
_CONTAINER = {
    "imagePullPolicy", "resources", "terminationMessagePath", "terminationMessagePolicy",
}
_POD_SPEC = {"dnsPolicy", "restartPolicy", "schedulerName", "securityContext", "terminationGracePeriodSeconds"}


def _template(prefix: str, extra_container: set[str] = frozenset(), extra_pod: set[str] = frozenset()) -> set[str]:
    return {f"{prefix}.containers[].{f}" for f in _CONTAINER | set(extra_container)} | {
        f"{prefix}.{f}" for f in _POD_SPEC | set(extra_pod)
    }


DEFAULTED: dict[str, set[str]] = {
    "Namespace": {"spec"},
    "Pod": _template(
        "spec",
        {"volumeMounts"},
        {
            "enableServiceLinks", "preemptionPolicy", "priority", "serviceAccount",
            "serviceAccountName", "tolerations", "volumes",
        },
    ),
    "Deployment": {"spec.progressDeadlineSeconds", "spec.revisionHistoryLimit", "spec.strategy"}
    | _template(
        "spec.template.spec",
        {
            "ports[].protocol", "livenessProbe.failureThreshold", "livenessProbe.periodSeconds",
            "livenessProbe.successThreshold", "livenessProbe.timeoutSeconds",
        },
        {"serviceAccount"},
    ),
    "StatefulSet": {
        "spec.persistentVolumeClaimRetentionPolicy", "spec.podManagementPolicy",
        "spec.revisionHistoryLimit", "spec.updateStrategy", "spec.volumeClaimTemplates[].apiVersion",
        "spec.volumeClaimTemplates[].kind", "spec.volumeClaimTemplates[].spec.volumeMode",
        "spec.volumeClaimTemplates[].status",
    }
    | _template("spec.template.spec", {"ports[].protocol"}),
    "Service": {
        "spec.clusterIP", "spec.clusterIPs", "spec.externalTrafficPolicy", "spec.internalTrafficPolicy",
        "spec.ipFamilies", "spec.ipFamilyPolicy", "spec.ports[].protocol", "spec.ports[].targetPort",
        "spec.sessionAffinity", "spec.type",
    },
}


@pytest.fixture(scope="module")
def workshop_cluster(tmp_path_factory):
    """A private API server holding the workshop: (server, created, skipped)."""
    server = KubeAPIServer(require_binaries(), workdir=tmp_path_factory.mktemp("live-workshop"))
    failure = None
    try:
        server.start()
    except HarnessError as exc:
        failure = str(exc)
    if failure:
        pytest.fail(failure, pytrace=False)
    try:
        created, skipped = apply_manifests(server, [str(workshop_dir())])
        yield server, created, skipped
    finally:
        server.stop()


@pytest.fixture(scope="module")
def live(workshop_cluster):
    server, _, _ = workshop_cluster
    started = time.monotonic()
    inventory = read(server)
    inventory.seconds = time.monotonic() - started
    return inventory


@pytest.fixture(scope="module")
def kubeconfig(workshop_cluster):
    return str(workshop_cluster[0].kubeconfig)




def test_only_the_pod_security_policy_cannot_be_held(workshop_cluster, live):
    _, _, skipped = workshop_cluster
    assert [(o["kind"], o["metadata"]["name"]) for o, _ in skipped] == [("PodSecurityPolicy", "psp-example")]
    assert "not served" in skipped[0][1]
    assert "PodSecurityPolicy (policy)" in live.not_served
    assert not live.unread and not live.notes


def test_live_scan_finds_what_the_file_scan_finds(live, request):
    started = time.monotonic()
    live_result = scan_live(live)
    scan_seconds = time.monotonic() - started
    files = finding_rows(scan_files([str(workshop_dir())]))
    found = finding_rows(live_result)
    # messages included: the same rule on the same object must say the same thing
    assert {row[:5] for row in files - found} == ONLY_IN_FILES, sorted(files - found)
    assert {row[:5] for row in found - files} == ONLY_LIVE, sorted(found - files)
    assert len(found) > 40
    show(
        request,
        f"live parity (workshop): {len(found)} findings, {len(files & found)} shared with the file scan; "
        f"read {len(live.objects)} objects in {live.seconds:.2f}s ({live.requests} requests), "
        f"scanned in {scan_seconds:.2f}s",
    )


def _added(declared, stored, path=""):
    """Field paths the server added to (or changed in) a declared object."""
    out = []
    if isinstance(stored, dict):
        for key, value in stored.items():
            where = f"{path}.{key}" if path else key
            if not isinstance(declared, dict) or key not in declared:
                out.append(where)
            else:
                out += _added(declared[key], value, where)
    elif isinstance(stored, list) and isinstance(declared, list):
        for index, value in enumerate(stored):
            out += _added(declared[index] if index < len(declared) else None, value, f"{path}[]")
    elif declared != stored:
        out.append(f"{path} (changed)")
    return out


def test_fields_the_server_defaults(workshop_cluster, live):
    _, created, _ = workshop_cluster
    stored = {}
    for raw in live.objects:
        meta = raw.obj["metadata"]
        stored[(raw.obj["kind"], meta.get("namespace"), meta["name"])] = raw.obj
    added: dict[str, set[str]] = {}
    for obj in created:
        kind = obj["kind"]
        namespace = None if kind in CLUSTER_SCOPED_KINDS else obj["metadata"].get("namespace", "default")
        for path in _added(obj, stored[(kind, namespace, obj["metadata"]["name"])]):
            if not path.startswith(("metadata", "status")):
                added.setdefault(kind, set()).add(path)
    assert added == DEFAULTED


def test_live_objects_are_manifests(live):
    for raw in live.objects:
        obj = raw.obj
        assert list(obj)[:2] == ["apiVersion", "kind"]
        assert "managedFields" not in obj["metadata"]
        namespace = obj["metadata"].get("namespace")
        parts = [namespace] if namespace else []
        assert raw.location.file == "/".join(["cluster:kube-auditor-e2e", *parts, obj["kind"], obj["metadata"]["name"]])
        assert raw.location.line is None


def _json_findings(output: str) -> tuple[set[tuple], set[str]]:
    report = json.loads(output)
    rows = {
        (f["rule"], f["object"]["kind"], f["object"]["namespace"], f["object"]["name"], f["container"], f["message"])
        for f in report["findings"]
    }
    return rows, {f["source"]["file"] for f in report["findings"]}


def test_snapshot_scans_like_the_live_cluster(kubeconfig, tmp_path):
    runner = CliRunner()
    snapshot = tmp_path / "cluster.yaml"
    taken = runner.invoke(main, ["snapshot", "--cluster", "--kubeconfig", kubeconfig, "-o", str(snapshot)])
    assert taken.exit_code == 0, taken.output
    header = read_header(snapshot)
    assert header is not None and header.server_version == "v1.37.2" and header.cluster.startswith("kube-auditor-e2e")
    assert header.not_read == [] and "PodSecurityPolicy (policy)" in header.not_served

    live_run = runner.invoke(main, ["scan", "--cluster", "--kubeconfig", kubeconfig, "--format", "json"])
    file_run = runner.invoke(main, ["scan", str(snapshot), "--format", "json"])
    assert live_run.exit_code == file_run.exit_code == 1  # the workshop has high findings
    live_rows, live_files = _json_findings(live_run.stdout)
    file_rows, file_files = _json_findings(file_run.stdout)
    assert live_rows == file_rows
    assert all(f.startswith("cluster:kube-auditor-e2e/") for f in live_files)
    assert file_files == {str(snapshot)}


def test_rbac_commands_read_the_cluster(kubeconfig):
    runner = CliRunner()
    yes = runner.invoke(main, ["rbac", "can", "sa:kube-system:admin-user", "delete", "nodes", "--cluster", "--kubeconfig", kubeconfig])
    assert yes.exit_code == 0, yes.output
    assert "ClusterRoleBinding admin-user" in yes.stdout
    no = runner.invoke(main, ["rbac", "can", "sa:default:test-sa", "get", "pods", "-n", "default", "--cluster", "--kubeconfig", kubeconfig])
    assert no.exit_code == 1
    who = runner.invoke(main, ["rbac", "who-can", "list", "pods", "--cluster", "--kubeconfig", kubeconfig, "--format", "json"])
    assert who.exit_code == 0
    report = json.loads(who.stdout)
    assert "sa:default:test-sa" in {entry["id"] for entry in report["subjects"]}
    assert "cluster:kube-auditor-e2e holds the cluster's own" in report["builtinRBAC"]
    paths = runner.invoke(main, ["rbac", "paths", "--cluster", "--kubeconfig", kubeconfig])
    assert paths.exit_code == 0 and "admin-user" in paths.stdout


@pytest.mark.parametrize("fmt", ["sarif", "json", "table", "junit", "markdown", "html"])
def test_report_formats_cite_cluster_locations(kubeconfig, fmt):
    result = CliRunner().invoke(main, ["scan", "--cluster", "--kubeconfig", kubeconfig, "--format", fmt])
    assert result.exit_code == 1, result.output
    assert "cluster:kube-auditor-e2e/" in result.stdout
    if fmt == "sarif":
        for finding in json.loads(result.stdout)["runs"][0]["results"]:
            assert all("physicalLocation" not in loc for loc in finding["locations"])
            assert finding["properties"]["source"]["file"].startswith("cluster:")
    if fmt == "json":
        import jsonschema

        from auditor.report.schemas import scan_report_schema

        jsonschema.validate(json.loads(result.stdout), scan_report_schema())


def _without_sources(document):
    """A command's JSON answer with the file/line locations dropped (they differ by origin),
    and its lists in one order (files list objects in file order, a cluster by kind)."""
    if isinstance(document, dict):
        return {k: _without_sources(v) for k, v in document.items() if k not in ("source", "file", "line")}
    if isinstance(document, list):
        return sorted((_without_sources(v) for v in document), key=lambda v: json.dumps(v, sort_keys=True))
    return document


@pytest.mark.parametrize(
    "command",
    [
        ["netpol", "list"],
        ["netpol", "matrix"],
        ["netpol", "reach", "--from", "default/redis", "--to", "kube-system/kubernetes-dashboard"],
        ["pss", "--format", "json"],
        ["pss", "--namespace-labels", "--format", "json"],
        ["pss", "recommend", "--format", "json"],
    ],
    ids=" ".join,
)
def test_analysis_commands_answer_the_same_over_the_cluster(kubeconfig, command):
    """An analyst asks the cluster what they asked the manifests, and gets the same answer."""
    runner = CliRunner()
    files = runner.invoke(main, [*command, str(workshop_dir())])
    live = runner.invoke(main, [*command, "--cluster", "--kubeconfig", kubeconfig])
    assert live.exit_code == files.exit_code, live.output
    if "--format" in command:
        live_answer, file_answer = json.loads(live.stdout), json.loads(files.stdout)
        if command[:2] == ["pss", "recommend"]:
            # the server holds Namespace default and its own empty namespaces (kube-public…);
            # the manifests imply default and name one (psp-example) the server never saw used
            for answer in (live_answer, file_answer):
                answer["namespaces"] = [n for n in answer["namespaces"] if n["workloads"]]
                for namespace in answer["namespaces"]:
                    namespace.pop("declared"), namespace.pop("enforce")
        assert _without_sources(live_answer) == _without_sources(file_answer)
    else:
        assert live.stdout == files.stdout


def test_threats_reads_the_cluster(kubeconfig):
    runner = CliRunner()
    live = runner.invoke(main, ["threats", "--cluster", "--kubeconfig", kubeconfig, "--format", "json"])
    assert live.exit_code == 0, live.output
    report = json.loads(live.stdout)
    scan = runner.invoke(main, ["scan", "--cluster", "--kubeconfig", kubeconfig, "--format", "json"])
    assert report["findings"] == len(json.loads(scan.stdout)["findings"])
    worst = {f["rule"] for group in report["stride"] for f in group["top"]}
    assert "KA-PATH-002" in worst  # the Dashboard's path to cluster-admin, read from the server
