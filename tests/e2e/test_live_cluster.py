"""The live loader against the real API server: Secrets, pagination, scale, namespaces,
in-cluster configuration and every way of failing to reach a cluster.

Uses the session server; each test works in namespaces of its own.
"""

from __future__ import annotations

import base64
import json
import time
import uuid

import pytest
import yaml
from click.testing import CliRunner
from live_helpers import post, read, scan_live
from terminal import show

from auditor.cli import main
from auditor.inventory.live import (
    PARTIAL_METADATA_LIST,
    TOKEN_SECRET_TYPE,
    ClusterError,
    connect,
    read_cluster,
)
from auditor.inventory.snapshot import render

pytestmark = pytest.mark.e2e

SECRET_VALUE = "s3cr3t-" + uuid.uuid4().hex
SECRET_B64 = base64.b64encode(SECRET_VALUE.encode()).decode()




@pytest.fixture(scope="module")
def secrets_namespace(kube_apiserver):
    namespace = kube_apiserver.ensure_namespace(f"live-secrets-{uuid.uuid4().hex[:6]}", ("default", "app"))
    post(kube_apiserver, "/api/v1/secrets", {
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {
            "name": "db", "labels": {"app": "db"},
            "annotations": {
                # what `kubectl apply` leaves: the whole Secret, data included
                "kubectl.kubernetes.io/last-applied-configuration":
                    '{"apiVersion":"v1","data":{"password":"' + SECRET_B64 + '"},"kind":"Secret"}',
                "team": "storage",
            },
        },
        "type": "Opaque",
        "stringData": {"password": SECRET_VALUE},
    }, namespace)
    post(kube_apiserver, "/api/v1/secrets", {
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "app-token", "annotations": {"kubernetes.io/service-account.name": "app"}},
        "type": TOKEN_SECRET_TYPE,
    }, namespace)
    return namespace


def test_secrets_are_read_as_metadata_only(kube_apiserver, secrets_namespace):
    connection = connect(str(kube_apiserver.kubeconfig))
    live = read_cluster(connection, namespaces=[secrets_namespace])
    secret_requests = [(url, accept) for url, accept in connection.transport.requests if "/secrets" in url]
    # a page list and a token-type list; nothing else ever touches secrets
    assert len(secret_requests) == 2
    assert all(accept == PARTIAL_METADATA_LIST for _, accept in secret_requests)
    assert all(url.startswith(f"/api/v1/namespaces/{secrets_namespace}/secrets?") for url, _ in secret_requests)

    secrets = {r.obj["metadata"]["name"]: r.obj for r in live.objects if r.obj["kind"] == "Secret"}
    assert set(secrets) == {"db", "app-token"}
    db = secrets["db"]
    assert set(db) == {"apiVersion", "kind", "metadata"}
    assert db["metadata"]["annotations"] == {"team": "storage"}  # last-applied dropped
    assert db["metadata"]["labels"] == {"app": "db"}
    assert secrets["app-token"]["type"] == TOKEN_SECRET_TYPE

    # the value is nowhere: not in the objects, not in a snapshot of them
    text = render(live)
    for needle in (SECRET_VALUE, SECRET_B64):
        assert needle not in text
        assert needle not in repr([r.obj for r in live.objects])


def test_token_secrets_feed_the_escalation_analysis(kube_apiserver, secrets_namespace):
    from auditor.analysis.rbac import RBACModel, load_builtin
    from auditor.analysis.rbac.paths import EscalationGraph
    from auditor.inventory import Inventory

    live = read(kube_apiserver, namespaces=[secrets_namespace])
    inventory = Inventory.from_objects(live.objects)
    graph = EscalationGraph(RBACModel.build(inventory, load_builtin(enabled=False)), inventory)
    assert graph.token_secrets[(secrets_namespace, "app-token")] == "app"


def test_pagination_and_a_few_hundred_objects(kube_apiserver, request):
    namespace = kube_apiserver.ensure_namespace(f"live-scale-{uuid.uuid4().hex[:6]}")
    count = 300
    started = time.monotonic()
    for index in range(count):
        post(kube_apiserver, "/apis/apps/v1/deployments", {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": f"web-{index:03d}", "labels": {"app": f"web-{index:03d}"}},
            "spec": {
                "selector": {"matchLabels": {"app": f"web-{index:03d}"}},
                "template": {
                    "metadata": {"labels": {"app": f"web-{index:03d}"}},
                    "spec": {"containers": [{"name": "web", "image": f"registry.example/web:{index}"}]},
                },
            },
        }, namespace)
    created = time.monotonic() - started

    connection = connect(str(kube_apiserver.kubeconfig))
    seen = []
    live = read_cluster(connection, namespaces=[namespace], page_size=50, progress=lambda r, n: seen.append((r, n)))
    deployment_pages = [u for u, _ in connection.transport.requests if f"/namespaces/{namespace}/deployments?" in u]
    assert len(deployment_pages) == count // 50  # the server sets no continue on the last page
    names = [r.obj["metadata"]["name"] for r in live.objects if r.obj["kind"] == "Deployment"]
    assert names == [f"web-{i:03d}" for i in range(count)]
    assert ("deployments", 300) in seen
    assert sum("continue=" in u for u in deployment_pages) == len(deployment_pages) - 1

    # the whole pipeline, with the default page size: a few hundred objects, timed
    started = time.monotonic()
    live = read(kube_apiserver, namespaces=[namespace])
    read_seconds = time.monotonic() - started
    started = time.monotonic()
    result = scan_live(live)
    scan_seconds = time.monotonic() - started
    assert len([f for f in result.findings if f.rule == "KA-CTR-004"]) == 0
    assert len({f.resource.name for f in result.findings if f.resource.kind == "Deployment"}) == count
    show(
        request,
        f"live scale: {len(live.objects)} objects ({count} Deployments in one namespace + "
        f"cluster-scoped) read in {read_seconds:.2f}s ({live.requests} requests), scanned in "
        f"{scan_seconds:.2f}s; creating them took {created:.1f}s",
    )


def test_namespace_selection(kube_apiserver, secrets_namespace):
    other = kube_apiserver.ensure_namespace(f"live-other-{uuid.uuid4().hex[:6]}")
    live = read(kube_apiserver, namespaces=[secrets_namespace])
    namespaced = {r.obj["metadata"].get("namespace") for r in live.objects if r.obj["kind"] not in (
        "Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume", "CertificateSigningRequest",
        "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration")}
    assert namespaced == {secrets_namespace}
    assert [r.obj["metadata"]["name"] for r in live.objects if r.obj["kind"] == "Namespace"] == [secrets_namespace]
    assert any(r.obj["kind"] == "ClusterRole" for r in live.objects)  # RBAC needs them
    assert other not in {r.obj["metadata"]["name"] for r in live.objects if r.obj["kind"] == "Namespace"}
    with pytest.raises(ClusterError, match="namespace 'no-such-namespace' does not exist"):
        read(kube_apiserver, namespaces=["no-such-namespace"])


def test_in_cluster_configuration(kube_apiserver, tmp_path, monkeypatch):
    """In a pod: the service host and port from the environment, the mounted token and CA."""
    from kubernetes.config import incluster_config

    namespace = kube_apiserver.ensure_namespace(f"live-pod-{uuid.uuid4().hex[:6]}", ("auditor",))
    post(kube_apiserver, "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": f"{namespace}-view"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "ServiceAccount", "name": "auditor", "namespace": namespace}],
    })
    kubeconfig = yaml.safe_load(kube_apiserver.kubeconfig_for_service_account(namespace, "auditor").read_text())
    token = tmp_path / "token"
    token.write_text(kubeconfig["users"][0]["user"]["token"])
    monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(token))
    monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", str(kube_apiserver.ca_file))
    host, port = kube_apiserver.url.removeprefix("https://").rsplit(":", 1)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", host)
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", port)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))  # no kubeconfig: in-cluster wins

    connection = connect()
    assert connection.context == "in-cluster"
    live = read_cluster(connection, namespaces=[namespace])
    assert any(r.obj["kind"] == "ServiceAccount" and r.obj["metadata"]["name"] == "auditor" for r in live.objects)
    assert live.objects[0].location.file.startswith("cluster:in-cluster/")
    # view cannot list ClusterRoles, Secrets, webhooks...: each is a notice, the rest is read
    assert any("missing permission list clusterroles" in m for m in live.messages())


def _kubeconfig(kube_apiserver, tmp_path, name, change):
    config = yaml.safe_load(kube_apiserver.kubeconfig.read_text())
    change(config)
    path = tmp_path / f"{name}.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def _set_user(config, user):
    config["users"][0]["user"] = user


def _set_ca(config, ca):
    config["clusters"][0]["cluster"]["certificate-authority"] = ca


@pytest.mark.parametrize(
    ("name", "change", "expected"),
    [
        ("bad-token", lambda c: _set_user(c, {"token": "not-a-token"}), "the server rejected the credentials (401 Unauthorized)"),
        ("wrong-ca", lambda c: _set_ca(c, "/etc/ssl/certs/ca-certificates.crt"), "TLS error: certificate verify failed"),
        ("closed-port", lambda c: c["clusters"][0]["cluster"].update(server="https://127.0.0.1:9"), "cannot connect: connection refused"),
        ("no-current-context", lambda c: c.update({"current-context": ""}), "kubeconfig has no current-context"),
    ],
)
def test_unreachable_cluster_exits_2_with_one_line(kube_apiserver, tmp_path, name, change, expected):
    kubeconfig = _kubeconfig(kube_apiserver, tmp_path, name, change)
    for command in (["scan", "--cluster"], ["snapshot", "--cluster", "-o", str(tmp_path / "x.yaml")],
                    ["rbac", "who-can", "get", "pods", "--cluster"]):
        result = CliRunner().invoke(main, [*command, "--kubeconfig", kubeconfig])
        assert result.exit_code == 2, (command, result.output)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("kube-auditor: error: "), result.stderr
        assert expected in lines[0]
        assert "Traceback" not in result.output


def test_unknown_context(kube_apiserver):
    result = CliRunner().invoke(main, ["scan", "--cluster", "--kubeconfig", str(kube_apiserver.kubeconfig), "--context", "prod"])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"kube-auditor: error: {kube_apiserver.kubeconfig}: context 'prod' not found in kubeconfig "
        "(contexts: kube-auditor-e2e)"
    )


def test_owned_objects_repeat_nothing_of_their_owner(kube_apiserver):
    """A Deployment, its ReplicaSet and its Pods as the controllers would create them (this
    server runs no controller-manager, so the test writes the ownerReferences the server
    then holds): the live scan reports the template's findings once, on the Deployment,
    and what a Pod adds (an injected sidecar) on the Pod."""
    namespace = kube_apiserver.ensure_namespace(f"live-owned-{uuid.uuid4().hex[:6]}", ("default",))
    template = {
        "metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "web", "image": "web:1.0"}]},
    }
    deployment = post(kube_apiserver, "/apis/apps/v1/deployments", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template},
    }, namespace)

    def owned_by(obj: dict) -> list[dict]:
        meta = obj["metadata"]
        return [{"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": meta["name"],
                 "uid": meta["uid"], "controller": True, "blockOwnerDeletion": True}]

    replicaset = post(kube_apiserver, "/apis/apps/v1/replicasets", {
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "web-7c9", "labels": {"app": "web"}, "ownerReferences": owned_by(deployment)},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template},
    }, namespace)
    for name, extra in (("web-7c9-a", []), ("web-7c9-b", [{"name": "proxy", "image": "proxy:1"}])):
        post(kube_apiserver, "/api/v1/pods", {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"app": "web"}, "ownerReferences": owned_by(replicaset)},
            "spec": {"containers": template["spec"]["containers"] + extra},
        }, namespace)

    runner = CliRunner()
    args = ["scan", "--cluster", "--kubeconfig", str(kube_apiserver.kubeconfig), "-n", namespace, "--format", "json"]
    folded = json.loads(runner.invoke(main, args).stdout)
    listed = json.loads(runner.invoke(main, [*args, "--include-owned"]).stdout)
    kinds = {f["object"]["kind"] for f in folded["findings"]}
    assert "ReplicaSet" not in kinds
    pods = [f for f in folded["findings"] if f["object"]["kind"] == "Pod"]
    assert pods and {f["object"]["name"] for f in pods} == {"web-7c9-b"}
    assert all(f["container"] == "proxy" or '"proxy"' in f["message"] for f in pods)
    assert {f["object"]["kind"] for f in listed["findings"]} >= {"Deployment", "ReplicaSet", "Pod"}
    owned_notice = [n for n in folded["notices"] if n["category"] == "owned"]
    assert owned_notice and owned_notice[0]["message"].startswith(
        f"{len(listed['findings']) - len(folded['findings'])} finding(s) on objects owned"
    )
