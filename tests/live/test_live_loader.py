"""The live loader over a fake API server: discovery, pagination, objects as manifests,
metadata-only Secrets, permissions, failures. The real server is in tests/e2e/test_live_*."""

from __future__ import annotations

import pytest
from fakecluster import FakeCluster, FakeResource, forbidden, when

from auditor.inventory import Inventory
from auditor.inventory.live import (
    CATALOGUE,
    JSON,
    LAST_APPLIED,
    PARTIAL_METADATA_LIST,
    RBAC_RESOURCES,
    TOKEN_SECRET_TYPE,
    APIError,
    ClusterError,
    Unread,
    clean_object,
    read_cluster,
    secret_from_metadata,
)


def ns(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "managedFields": [{"manager": "x"}]}}


def deployment(name: str, namespace: str = "shop", image: str = "web:1") -> dict:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "managedFields": [{"manager": "kubectl"}]},
        "spec": {"template": {"spec": {"containers": [{"name": "web", "image": image}]}}},
        "status": {"replicas": 1},
    }


def secret(name: str, namespace: str = "shop", type_: str = "Opaque", **annotations) -> dict:
    return {
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace, "annotations": dict(annotations), "labels": {"a": "b"}},
        "type": type_,
        "data": {"password": "c2VjcmV0"},
    }


@pytest.fixture
def fake() -> FakeCluster:
    cluster = FakeCluster()
    for name in ("default", "shop", "web"):
        cluster.add(ns(name))
    for index in range(7):
        cluster.add(deployment(f"app-{index}", "shop" if index % 2 else "web"))
    cluster.add(secret("db", **{LAST_APPLIED: '{"data":{"password":"c2VjcmV0"}}', "team": "storage"}))
    cluster.add(secret("sa-token", type_=TOKEN_SECRET_TYPE, **{"kubernetes.io/service-account.name": "app"}))
    cluster.add({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "reader"}, "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}],
    })
    return cluster


def kinds(live) -> list[str]:
    return [raw.obj["kind"] for raw in live.objects]


# --------------------------------------------------------------------------- discovery


@pytest.mark.parametrize("aggregated", [True, False])
def test_reads_every_kind_the_server_serves(fake, aggregated):
    fake.aggregated = aggregated
    live = read_cluster(fake.connection(), page_size=3)
    assert live.version == "v1.37.2" and live.context == "fake"
    assert kinds(live) == ["Namespace"] * 3 + ["Secret"] * 2 + ["ClusterRole"] + ["Deployment"] * 7
    assert live.unread == [] and live.notes == []
    assert live.not_served == [
        "PodSecurityPolicy (policy)", "Rollout (argoproj.io)", "DeploymentConfig (apps.openshift.io)",
        "CloneSet (apps.kruise.io)", "ScaledJob (keda.sh)",
    ]
    discovery = [p for p, _ in fake.requests if p in ("/api", "/apis") or p.count("/") <= 3 and "?" not in p]
    if aggregated:
        assert discovery == ["/version", "/api", "/apis"]
    else:  # only the groups the catalogue needs are asked about
        assert "/apis/policy/v1" in discovery and "/apis/storage.k8s.io/v1" not in discovery


def test_the_first_served_version_that_lists_the_resource_is_used():
    fake = FakeCluster()
    fake.resources += [
        FakeResource("policy", "v1beta1", "podsecuritypolicies", "PodSecurityPolicy", False),
        FakeResource("argoproj.io", "v1alpha1", "rollouts", "Rollout", True),
    ]
    fake.add({"apiVersion": "policy/v1beta1", "kind": "PodSecurityPolicy", "metadata": {"name": "restricted"}, "spec": {}})
    fake.add({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "canary", "namespace": "shop"},
        "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "app:2"}]}}},
    })
    for aggregated in (True, False):
        fake.aggregated, fake.requests = aggregated, []
        live = read_cluster(fake.connection())
        by_kind = {raw.obj["kind"]: raw.obj for raw in live.objects}
        assert by_kind["PodSecurityPolicy"]["apiVersion"] == "policy/v1beta1"
        assert by_kind["Rollout"]["apiVersion"] == "argoproj.io/v1alpha1"
        assert "PodSecurityPolicy (policy)" not in live.not_served
        # the custom workload's pod template is found like a Deployment's
        inventory = Inventory.from_objects(live.objects)
        assert [t.resource.kind for t in inventory.pod_templates] == ["Rollout"]


def test_discovery_forbidden_falls_back_to_the_usual_versions(fake):
    fake.failures["/apis"] = when(lambda path, params: path == "/apis", forbidden("/apis"))
    live = read_cluster(fake.connection())
    assert live.notes == [
        "API discovery failed (403 Forbidden: /apis is forbidden: User \"x\" cannot list resource \"/apis\"); "
        "assumed the usual API versions and skipped optional kinds"
    ]
    assert kinds(live).count("Deployment") == 7
    assert live.not_served == [f"{s.kind} ({s.group_display})" for s in CATALOGUE if s.optional]


def test_a_kind_the_server_does_not_serve_is_noted():
    fake = FakeCluster()
    fake.resources = [r for r in fake.resources if r.resource != "cronjobs"]
    live = read_cluster(fake.connection())
    assert live.notes == ["CronJob (cronjobs.batch) is not served by this cluster"]


# --------------------------------------------------------------------------- objects


def test_objects_are_manifests(fake):
    live = read_cluster(fake.connection())
    for raw in live.objects:
        obj = raw.obj
        assert list(obj)[:2] == ["apiVersion", "kind"]
        assert "managedFields" not in obj["metadata"]
    dep = next(r for r in live.objects if r.obj["kind"] == "Deployment")
    assert dep.obj["apiVersion"] == "apps/v1"
    assert dep.obj["status"] == {"replicas": 1}  # kept as the API shows it
    assert dep.location.file == f"cluster:fake/{dep.obj['metadata']['namespace']}/Deployment/{dep.obj['metadata']['name']}"
    assert dep.location.line is None
    role = next(r for r in live.objects if r.obj["kind"] == "ClusterRole")
    assert role.location.file == "cluster:fake/ClusterRole/reader"
    inventory = Inventory.from_objects(live.objects)
    assert inventory.get("ClusterRole", "reader", group="rbac.authorization.k8s.io").namespace is None
    assert live.counts["Deployment"] == 7 and live.counts["Pod"] == 0


def test_clean_object_keeps_item_order_and_fills_identity():
    item = {"metadata": {"name": "x", "managedFields": [1], "labels": {"a": "b"}}, "spec": {"k": 1}}
    assert clean_object(item, "apps/v1", "Deployment") == {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x", "labels": {"a": "b"}}, "spec": {"k": 1},
    }
    assert item["metadata"]["managedFields"] == [1]  # the input is not modified


def test_pagination_asks_page_by_page(fake):
    live = read_cluster(fake.connection(), page_size=3)
    pages = [p for p, _ in fake.requests if p.startswith("/apis/apps/v1/deployments?")]
    assert pages == [
        "/apis/apps/v1/deployments?limit=3",
        "/apis/apps/v1/deployments?limit=3&continue=3",
        "/apis/apps/v1/deployments?limit=3&continue=6",
    ]
    names = [r.obj["metadata"]["name"] for r in live.objects if r.obj["kind"] == "Deployment"]
    assert names == [f"app-{i}" for i in range(7)]


def test_an_expired_continue_token_lists_the_kind_again(fake):
    calls = []

    def expire_once(path, params):
        if path == "/apis/apps/v1/deployments" and params.get("continue") == "3":
            calls.append(1)
            if len(calls) == 1:
                return APIError(410, "Gone", "The provided continue parameter is too old")
        return None

    fake.failures["/apis/apps/v1/deployments"] = expire_once
    live = read_cluster(fake.connection(), page_size=3)
    assert kinds(live).count("Deployment") == 7  # not 10: the partial first attempt is dropped
    assert live.notes == ["Deployment: the list continue token expired; listed again from the start"]


def test_a_continue_token_expiring_twice_leaves_the_kind_unread(fake):
    fake.failures["/apis/apps/v1/deployments"] = when(
        lambda path, params: params.get("continue") == "3", APIError(410, "Gone", "too old")
    )
    live = read_cluster(fake.connection(), page_size=3)
    assert "Deployment" not in kinds(live)
    assert [str(u) for u in live.unread] == ["Deployment not read: 410 Gone (continue token expired twice)"]


def test_progress_is_reported_per_page_and_per_kind(fake):
    seen = []
    read_cluster(fake.connection(), page_size=3, progress=lambda resource, count: seen.append((resource, count)))
    assert [c for r, c in seen if r == "deployments"] == [3, 6, 7]
    assert ("namespaces", 3) in seen and ("pods", 0) in seen


def test_resources_limit_what_is_read(fake):
    live = read_cluster(fake.connection(), resources=RBAC_RESOURCES)
    assert kinds(live) == ["ClusterRole"]
    assert not any("deployments" in p for p, _ in fake.requests)


# --------------------------------------------------------------------------- namespaces


def test_namespaces_limit_namespaced_kinds_not_cluster_scoped_ones(fake):
    live = read_cluster(fake.connection(), namespaces=["shop", "shop"])
    assert [r.obj["metadata"]["name"] for r in live.objects if r.obj["kind"] == "Namespace"] == ["shop"]
    assert {r.obj["metadata"]["namespace"] for r in live.objects if r.obj["kind"] == "Deployment"} == {"shop"}
    assert "ClusterRole" in kinds(live)
    paths = [p for p, _ in fake.requests]
    assert "/api/v1/namespaces/shop" in paths
    assert "/apis/apps/v1/namespaces/shop/deployments?limit=500" in paths
    assert not any(p.startswith("/apis/apps/v1/deployments") for p in paths)


def test_an_unknown_namespace_is_an_error(fake):
    with pytest.raises(ClusterError, match="namespace 'prod' does not exist"):
        read_cluster(fake.connection(), namespaces=["prod"])


def test_a_namespace_that_may_not_be_read_is_a_notice(fake):
    fake.failures["/api/v1/namespaces/shop"] = when(lambda path, params: path == "/api/v1/namespaces/shop", forbidden("namespaces"))
    live = read_cluster(fake.connection(), namespaces=["shop"])
    assert live.unread[0] == Unread("Namespace", "", "namespaces", "get", "shop", 403, "Forbidden")
    assert str(live.unread[0]) == 'Namespace not read: missing permission get namespaces (apiGroups [""]) in namespace shop (403 Forbidden)'


# --------------------------------------------------------------------------- permissions


def test_forbidden_kinds_name_the_missing_permission_and_the_rest_is_read(fake):
    fake.failures["/api/v1/secrets"] = forbidden("secrets")
    fake.failures["/apis/rbac.authorization.k8s.io/v1/clusterroles"] = forbidden("clusterroles")
    live = read_cluster(fake.connection())
    assert live.messages() == [
        'Secret not read: missing permission list secrets (apiGroups [""]) cluster-wide (403 Forbidden)',
        'ClusterRole not read: missing permission list clusterroles (apiGroups ["rbac.authorization.k8s.io"]) cluster-wide (403 Forbidden)',
    ]
    assert live.unread[0].to_dict() == {
        "kind": "Secret", "group": "", "resource": "secrets", "verb": "list", "namespace": None,
        "status": 403, "reason": "Forbidden",
    }
    assert kinds(live).count("Deployment") == 7


def test_forbidden_in_one_namespace_names_it(fake):
    fake.failures["/apis/apps/v1/namespaces/web/deployments"] = forbidden("deployments")
    live = read_cluster(fake.connection(), namespaces=["shop", "web"])
    assert [str(u) for u in live.unread] == [
        'Deployment not read: missing permission list deployments (apiGroups ["apps"]) in namespace web (403 Forbidden)'
    ]
    assert {r.obj["metadata"]["namespace"] for r in live.objects if r.obj["kind"] == "Deployment"} == {"shop"}


def test_other_errors_are_notices_too(fake):
    fake.failures["/apis/batch/v1/jobs"] = APIError(503, "Service Unavailable", "etcd is down")
    live = read_cluster(fake.connection())
    assert [str(u) for u in live.unread] == ["Job not read: 503 Service Unavailable"]


@pytest.mark.parametrize("where", ["/version", "/apis", "/apis/apps/v1/deployments"])
def test_rejected_credentials_stop_the_read(fake, where):
    fake.failures[where] = APIError(401, "Unauthorized", "Unauthorized")
    with pytest.raises(ClusterError) as error:
        read_cluster(fake.connection())
    assert str(error.value) == "cluster:fake (https://fake.invalid:6443): the server rejected the credentials (401 Unauthorized)"


# --------------------------------------------------------------------------- secrets


def test_secrets_are_listed_as_metadata_only(fake):
    live = read_cluster(fake.connection())
    secret_requests = [(p, a) for p, a in fake.requests if "/secrets" in p]
    assert secret_requests == [
        ("/api/v1/secrets?limit=500", PARTIAL_METADATA_LIST),
        (f"/api/v1/secrets?limit=500&fieldSelector=type={TOKEN_SECRET_TYPE}", PARTIAL_METADATA_LIST),
    ]
    assert all(a == JSON for p, a in fake.requests if "/secrets" not in p and p not in ("/api", "/apis"))
    secrets = {r.obj["metadata"]["name"]: r.obj for r in live.objects if r.obj["kind"] == "Secret"}
    assert secrets["db"] == {
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "db", "namespace": "shop", "labels": {"a": "b"}, "annotations": {"team": "storage"}},
    }
    assert secrets["sa-token"]["type"] == TOKEN_SECRET_TYPE
    assert "c2VjcmV0" not in repr([r.obj for r in live.objects])


def test_whole_secrets_from_a_misbehaving_server_are_discarded(fake):
    fake.ignore_partial = True  # answers with a SecretList, data included
    live = read_cluster(fake.connection())
    assert "Secret" not in kinds(live)
    assert [str(u) for u in live.unread] == [
        "Secret not read: 406 the answer was whole objects, not metadata only, and was discarded"
    ]
    assert "c2VjcmV0" not in repr([r.obj for r in live.objects])


def test_a_server_that_cannot_list_metadata_only(fake):
    fake.failures["/api/v1/secrets"] = APIError(406, "Not Acceptable", "only application/json")
    live = read_cluster(fake.connection())
    assert live.unread[0].reason.startswith("Not Acceptable: the server cannot list metadata only")


def test_secret_from_metadata_keeps_nothing_else():
    item = {
        "kind": "Secret", "apiVersion": "v1", "data": {"x": "eQ=="}, "stringData": {"y": "z"}, "type": "Opaque",
        "metadata": {
            "name": "s", "namespace": "n", "managedFields": [{"fieldsV1": {"f:data": {"f:x": {}}}}],
            "annotations": {LAST_APPLIED: "{...}"}, "generateName": "s-", "selfLink": "/x",
        },
    }
    assert secret_from_metadata(item) == {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "n"}}


def test_catalogue_reads_what_the_rules_need():
    resources = {spec.qualified for spec in CATALOGUE}
    for needed in (
        "pods", "replicasets.apps", "jobs.batch", "cronjobs.batch", "services", "ingresses.networking.k8s.io",
        "networkpolicies.networking.k8s.io", "namespaces", "serviceaccounts", "roles.rbac.authorization.k8s.io",
        "rolebindings.rbac.authorization.k8s.io", "clusterroles.rbac.authorization.k8s.io",
        "clusterrolebindings.rbac.authorization.k8s.io", "podsecuritypolicies.policy", "persistentvolumes",
        "validatingwebhookconfigurations.admissionregistration.k8s.io",
        "mutatingwebhookconfigurations.admissionregistration.k8s.io", "rollouts.argoproj.io",
        "certificatesigningrequests.certificates.k8s.io",
    ):
        assert needed in resources
    # never ConfigMaps or other kinds that carry data the rules do not need
    assert "configmaps" not in resources
    assert [s.resource for s in CATALOGUE if s.metadata_only] == ["secrets"]
