"""``scan --cluster``, ``snapshot`` and ``rbac --cluster`` over a fake cluster: flags, exit
codes, notices for what was not read, the cluster's own RBAC roles, and the reports' handling
of ``cluster:`` locations. The real API server is in tests/e2e/test_live_*."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET

import jsonschema
import pytest
import yaml
from click.testing import CliRunner
from fakecluster import FakeCluster, FakeResource, forbidden

from auditor.cli import live_source, main
from auditor.inventory.live import read_cluster
from auditor.report.schemas import scan_report_schema

OBJECTS = [
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
    {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "shop"}},
    {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
            {"name": "web", "image": "web:latest", "securityContext": {"privileged": True}},
        ]}}},
    },
    {
        # the bundled `edit` role would let devs exec into pods; this cluster has no such role
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "devs-edit", "namespace": "shop"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "devs"}],
    },
]


@pytest.fixture
def fake(monkeypatch) -> FakeCluster:
    cluster = FakeCluster()
    for obj in OBJECTS:
        cluster.add(obj)
    calls = []

    def load_cluster(kubeconfig, context, namespaces, resources, progress=None):
        calls.append({"kubeconfig": kubeconfig, "context": context, "namespaces": namespaces, "resources": resources})
        return read_cluster(cluster.connection("kind-dev"), namespaces, resources, progress=progress)

    monkeypatch.setattr(live_source, "load_cluster", load_cluster)
    cluster.calls = calls
    return cluster


def run(*args):
    return CliRunner().invoke(main, list(args))


def rows(report: dict) -> set[tuple]:
    return {
        (f["rule"], f["object"]["kind"], f["object"]["namespace"], f["object"]["name"], f["container"], f["message"])
        for f in report["findings"]
    }


# --------------------------------------------------------------------------- flags


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["scan", "--context", "prod", "k8s/"], "--context reads a live cluster: add --cluster"),
        # one -n without --cluster is the namespace files are applied to (kubectl apply -n)
        (["scan", "-n", "shop", "-n", "web", "k8s/"], "several -n/--namespace values read a live cluster: add --cluster"),
        (["scan", "--kubeconfig", "k", "k8s/"], "--kubeconfig reads a live cluster: add --cluster"),
        (["scan", "--cluster", "k8s/"], "--cluster reads the cluster: give no PATH"),
        (["scan", "--cluster", "--workshop"], "--cluster reads the cluster: give no PATH"),
        (["scan"], "give PATH... to scan, - for stdin, --helm/--kustomize, --cluster, or --workshop"),
        (["snapshot", "-o", "x.yaml"], "snapshot reads a live cluster: add --cluster"),
        (["snapshot", "--cluster"], "Missing option '-o' / '--output'"),
        (["rbac", "can", "user:a", "get", "pods", "--context", "x"], "--context reads a live cluster: add --cluster"),
        (["rbac", "who-can", "get", "pods", "--cluster", "k8s/"], "--cluster reads the cluster: give no PATH"),
        (["threats", "--context", "prod", "k8s/"], "--context reads a live cluster: add --cluster"),
        (["threats", "--cluster", "--workshop"], "--cluster reads the cluster: give no PATH"),
        (["threats"], "give PATH... to read, - for stdin, --cluster, or --workshop for the bundled demo"),
        (["pss", "recommend", "-n", "a", "-n", "b", "k8s/"], "several -n/--namespace values read a live cluster: add --cluster"),
        (["netpol", "list", "--kubeconfig", "k", "k8s/"], "--kubeconfig reads a live cluster: add --cluster"),
        (["netpol", "matrix"], "give PATH... to read, - for stdin, --cluster, or --workshop for the bundled demo"),
        (["psp", "migrate", "--cluster", "k8s/"], "--cluster reads the cluster: give no PATH"),
    ],
)
def test_flags(args, message):
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.output


def test_options_reach_the_loader(fake):
    fake.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "web"}})
    result = run("scan", "--cluster", "--context", "dev", "--kubeconfig", "kc", "-n", "shop", "-n", "web", "--fail-on", "none")
    assert result.exit_code == 0, result.output
    assert fake.calls == [{"kubeconfig": "kc", "context": "dev", "namespaces": ("shop", "web"), "resources": None}]


# --------------------------------------------------------------------------- scan


def test_scan_cluster_reports_findings_and_what_was_not_read(fake):
    fake.failures["/api/v1/secrets"] = forbidden("secrets")
    result = run("scan", "--cluster", "--format", "json", "--fail-on", "medium")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    jsonschema.validate(report, scan_report_schema())
    assert report["notices"] == [{
        "category": "cluster", "file": "cluster:kind-dev", "line": None,
        "message": 'Secret not read: missing permission list secrets (apiGroups [""]) cluster-wide (403 Forbidden)',
    }]
    sources = {f["source"]["file"] for f in report["findings"]}
    assert "cluster:kind-dev/shop/Deployment/web" in sources
    assert all(f["source"]["line"] is None for f in report["findings"])
    assert report["summary"]["objects"] == len(OBJECTS)


def test_the_clusters_own_roles_are_used_not_the_bundled_ones(fake, tmp_path):
    live = rows(json.loads(run("scan", "--cluster", "--format", "json").stdout))
    manifests = tmp_path / "objects.yaml"
    manifests.write_text(yaml.safe_dump_all(OBJECTS))
    files = rows(json.loads(run("scan", str(manifests), "--format", "json").stdout))
    exec_rule = {r for r in files if r[0] == "KA-RBAC-014"}
    assert exec_rule  # with the bundled edit role, devs may exec into pods
    assert not {r for r in live if r[0] == "KA-RBAC-014"}  # this cluster has no edit role


def test_snapshot_then_scan_gives_the_live_findings(fake, tmp_path):
    fake.failures["/api/v1/secrets"] = forbidden("secrets")
    path = tmp_path / "cluster.yaml"
    taken = run("snapshot", "--cluster", "-o", str(path))
    assert taken.exit_code == 0
    assert taken.stderr.splitlines() == [
        'kube-auditor: warning: Secret not read: missing permission list secrets (apiGroups [""]) cluster-wide (403 Forbidden)',
        taken.stderr.splitlines()[1],
    ]
    assert taken.stderr.splitlines()[1].startswith(f"kube-auditor: wrote 4 objects from cluster:kind-dev (v1.37.2) to {path} in ")
    live = json.loads(run("scan", "--cluster", "--format", "json").stdout)
    offline = json.loads(run("scan", str(path), "--format", "json").stdout)
    assert rows(offline) == rows(live)
    assert [n["message"] for n in offline["notices"]] == [
        'when the snapshot was taken: Secret not read: missing permission list secrets (apiGroups [""]) cluster-wide (403 Forbidden)'
    ]
    assert {f["source"]["file"] for f in offline["findings"]} == {str(path)}


def test_a_baseline_from_a_live_scan_holds_for_its_snapshot(fake, tmp_path):
    baseline, snapshot = tmp_path / "baseline.json", tmp_path / "cluster.yaml"
    assert run("scan", "--cluster", "--write-baseline", str(baseline), "--fail-on", "none").exit_code == 0
    run("snapshot", "--cluster", "-o", str(snapshot))
    offline = run("scan", str(snapshot), "--baseline", str(baseline), "--fail-on", "info", "--format", "json")
    assert offline.exit_code == 0  # nothing new
    report = json.loads(offline.stdout)
    assert report["findings"] and all(f["baselined"] for f in report["findings"])


def test_snapshot_to_stdout(fake):
    result = run("snapshot", "--cluster", "-o", "-")
    assert result.exit_code == 0
    assert result.stdout.startswith("# kube-auditor snapshot v1\n# cluster: kind-dev (https://fake.invalid:6443)\n")
    documents = [d for d in yaml.safe_load_all(result.stdout) if d]
    assert [d["kind"] for d in documents] == ["Namespace", "ServiceAccount", "RoleBinding", "Deployment"]


# --------------------------------------------------------------------------- rbac


def test_rbac_cluster_reads_only_rbac_objects_and_uses_the_clusters_roles(fake):
    result = run("rbac", "can", "user:alice", "get", "pods", "-n", "shop", "--as-group", "devs", "--cluster")
    assert result.exit_code == 1  # no `edit` role in this cluster
    assert "ClusterRole edit does not exist" in result.stdout
    assert fake.calls[-1]["resources"] == live_source.RBAC_RESOURCES
    who = json.loads(run("rbac", "who-can", "get", "pods", "-n", "shop", "--cluster", "--format", "json").stdout)
    assert who["builtinRBAC"] == "not merged: cluster:kind-dev holds the cluster's own built-in roles"
    run("rbac", "paths", "--cluster")
    assert fake.calls[-1]["resources"] is None  # paths also follows pods and token Secrets


def test_rbac_over_a_snapshot_uses_its_roles(fake, tmp_path):
    path = tmp_path / "cluster.yaml"
    run("snapshot", "--cluster", "-o", str(path))
    result = run("rbac", "can", "user:alice", "get", "pods", "-n", "shop", "--as-group", "devs", str(path))
    assert result.exit_code == 1
    manifests = tmp_path / "objects.yaml"
    manifests.write_text(yaml.safe_dump_all(OBJECTS))
    assert run("rbac", "can", "user:alice", "get", "pods", "-n", "shop", "--as-group", "devs", str(manifests)).exit_code == 0


# --------------------------------------------------------------- the analysis commands


def test_threats_over_the_cluster_reports_what_scan_finds(fake):
    fake.failures["/api/v1/namespaces/shop/secrets"] = forbidden("secrets")
    result = run("threats", "--cluster", "--context", "dev", "-n", "shop", "--format", "json")
    assert result.exit_code == 0, result.output
    assert "Secret not read: missing permission list secrets" in result.stderr
    assert fake.calls[-1]["namespaces"] == ("shop",) and fake.calls[-1]["context"] == "dev"
    report = json.loads(result.stdout)
    scan = json.loads(run("scan", "--cluster", "-n", "shop", "--format", "json").stdout)
    assert report["findings"] == len(scan["findings"]) > 0
    # the cluster's own roles: no bundled `edit`, so no exec grant to devs
    assert "KA-RBAC-014" not in {f["rule"] for group in report["stride"] for f in group["top"]}
    assert "KA-RBAC-014" not in {f["rule"] for f in scan["findings"]}


def test_pss_over_the_cluster(fake):
    result = run("pss", "--cluster", "--level", "baseline", "--format", "json")
    assert result.exit_code == 1  # the privileged Deployment is denied
    (entry,) = json.loads(result.stdout)["results"]
    assert entry["object"] == {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "shop", "name": "web"}
    assert entry["source"] == {"file": "cluster:kind-dev/shop/Deployment/web", "line": None}
    assert [v["check"] for v in entry["violations"]] == ["privileged"]
    recommended = json.loads(run("pss", "recommend", "--cluster", "--format", "json").stdout)
    shop = next(n for n in recommended["namespaces"] if n["namespace"] == "shop")
    assert shop["recommended"] == "privileged" and shop["declared"] is True


def test_netpol_over_the_cluster(fake):
    listed = run("netpol", "list", "--cluster", "-q")
    assert listed.exit_code == 0, listed.output
    assert "shop/web[Deployment] => 0.0.0.0-255.255.255.255[External] : All Connections" in listed.stdout
    reach = run("netpol", "reach", "--cluster", "--from", "shop/web", "--to", "10.0.0.1", "--port", "443")
    assert reach.exit_code == 0, reach.output
    assert fake.calls[-1]["resources"] is None


def test_psp_migrate_over_the_cluster(fake):
    fake.resources.append(FakeResource("policy", "v1beta1", "podsecuritypolicies", "PodSecurityPolicy", False))
    fake.add({
        "apiVersion": "policy/v1beta1", "kind": "PodSecurityPolicy", "metadata": {"name": "open"},
        "spec": {"privileged": True, "seLinux": {"rule": "RunAsAny"}, "runAsUser": {"rule": "RunAsAny"},
                 "supplementalGroups": {"rule": "RunAsAny"}, "fsGroup": {"rule": "RunAsAny"}, "volumes": ["*"]},
    })
    result = run("psp", "migrate", "--cluster", "--format", "json")
    assert result.exit_code == 0, result.output
    (policy,) = json.loads(result.stdout)["podSecurityPolicies"]
    assert policy["name"] == "open" and policy["pssLevel"] == "privileged"
    assert policy["source"]["file"] == "cluster:kind-dev/PodSecurityPolicy/open"


# --------------------------------------------------------------------------- reports


def test_sarif_and_junit_do_not_take_cluster_locations_for_files(fake):
    sarif = json.loads(run("scan", "--cluster", "--format", "sarif").stdout)
    for result in sarif["runs"][0]["results"]:
        for location in result["locations"]:
            assert "physicalLocation" not in location
            assert location["logicalLocations"][0]["fullyQualifiedName"]
        assert result["properties"]["source"]["file"].startswith("cluster:kind-dev/")
    junit = ET.fromstring(run("scan", "--cluster", "--format", "junit").stdout)
    assert all("file" not in case.attrib for case in junit.iter("testcase"))
    table = run("scan", "--cluster", "--no-color").stdout
    assert "Deployment shop/web  cluster:kind-dev/shop/Deployment/web" in table


# --------------------------------------------------------------------------- progress


class Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_progress_only_on_a_terminal():
    quiet = Stream(tty=False)
    progress = live_source.TerminalProgress(quiet)
    progress("pods", 500)
    progress.done()
    assert quiet.getvalue() == ""

    terminal = Stream(tty=True)
    progress = live_source.TerminalProgress(terminal)
    progress("pods", 1500)
    progress("pods", 2000)  # within the refresh interval: skipped
    progress.done()
    assert terminal.getvalue() == "\r\x1b[Kkube-auditor: reading pods: 1,500\r\x1b[K"
