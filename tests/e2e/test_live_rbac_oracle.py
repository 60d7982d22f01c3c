"""The RBAC model against the real authorizer: every decision must agree.

The RBAC objects of ``data/rbac-oracle.yaml`` (wildcards, subresources, resourceNames,
nonResourceURLs, aggregated ClusterRoles, RoleBindings to ClusterRoles, group subjects such
as ``system:authenticated`` and ``system:serviceaccounts:NS``, ServiceAccounts, dangling
bindings) go into the real API server. The live loader then reads every RBAC object the
server holds, its built-in roles included, and the model built from them answers a grid of
subjects × verbs × resources (with subresources) × namespaces, plus resourceNames and
nonResourceURLs; a SubjectAccessReview asks the server the same questions.

Subjects in ``system:nodes`` are left out: the Node authorizer, which runs before RBAC in
the harness (``--authorization-mode=Node,RBAC``), answers for them from the pods bound to
each node, which is not RBAC. ``system:masters`` is in: the API server lets it through
before any authorizer, and so does the model.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from harness import rbac as harness_rbac
from live_helpers import apply_manifests, eventually, read, sar_allowed
from terminal import show

from auditor.analysis.rbac import RBACModel, Request, UserInfo, load_builtin
from auditor.inventory import Inventory
from auditor.inventory.live import RBAC_RESOURCES

pytestmark = pytest.mark.e2e

DATA = Path(__file__).resolve().parent / "data" / "rbac-oracle.yaml"

AUTH = "system:authenticated"


def sa(namespace: str, name: str) -> tuple[str, tuple[str, ...]]:
    return (
        f"system:serviceaccount:{namespace}:{name}",
        ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", AUTH),
    )


#: (user name, groups) exactly as a SubjectAccessReview's spec.user and spec.groups
SUBJECTS: list[tuple[str, tuple[str, ...]]] = [
    ("alice", (AUTH,)),
    ("Alice", (AUTH,)),
    ("bob", (AUTH,)),
    ("carol", (AUTH,)),
    ("dave", (AUTH,)),
    ("erin", (AUTH,)),
    ("frank", (AUTH,)),
    ("frank-in-b", (AUTH,)),
    ("mallory", ("devs", AUTH)),
    ("", ("devs",)),  # an unnamed member of a group
    ("nobody", ()),  # no groups at all, not even system:authenticated
    sa("oracle-a", "deployer"),
    ("system:serviceaccount:oracle-a:deployer", ()),  # the name without its groups
    sa("oracle-c", "builder"),
    sa("oracle-c", "default"),
    sa("kube-system", "replicaset-controller"),
    ("system:kube-scheduler", (AUTH,)),
    ("system:anonymous", ("system:unauthenticated",)),
    ("root", ("system:masters", AUTH)),
]

VERBS = ("get", "list", "create", "update", "delete", "deletecollection")

#: (apiGroup, resource, subresource)
RESOURCES: list[tuple[str, str, str]] = [
    ("", "pods", ""),
    ("", "pods", "log"),
    ("", "pods", "exec"),
    ("", "pods", "status"),
    ("", "secrets", ""),
    ("", "configmaps", ""),
    ("", "nodes", ""),
    ("", "namespaces", ""),
    ("", "serviceaccounts", "token"),
    ("apps", "deployments", ""),
    ("apps", "deployments", "scale"),
    ("batch", "jobs", ""),
    ("networking.k8s.io", "ingresses", ""),
    ("rbac.authorization.k8s.io", "clusterroles", ""),
    ("oracle.example.com", "widgets", ""),
]

NAMESPACES = ("", "oracle-a", "oracle-b", "oracle-c")

#: custom verbs, on the resources they are meant for
SPECIAL: list[tuple[str, str, str]] = [
    ("bind", "rbac.authorization.k8s.io", "clusterroles"),
    ("escalate", "rbac.authorization.k8s.io", "roles"),
    ("impersonate", "", "users"),
    ("impersonate", "", "serviceaccounts"),
    ("impersonate", "authentication.k8s.io", "userextras"),
    ("use", "policy", "podsecuritypolicies"),
    ("approve", "certificates.k8s.io", "signers"),
]

#: (verb, resource, name): requests that carry an object name
NAMED: list[tuple[str, str, str]] = [
    ("get", "configmaps", "app-config"),
    # a list or watch with a metadata.name field selector carries the name, so it can
    # match resourceNames; so does a review that names the object of a create
    ("list", "configmaps", "app-config"),
    ("create", "configmaps", "other-config"),
    ("update", "configmaps", "other-config"),
    ("get", "configmaps", "not-listed"),
    ("get", "secrets", "db-password"),
    ("delete", "secrets", "db-password"),
    ("update", "secrets", "db-password"),
    ("get", "secrets", "other"),
]

URLS = (
    "/metrics", "/metrics/x", "/logs", "/logs/", "/logs/kubelet.log", "/custom", "/customer/a",
    "/healthz", "/healthz/ping", "/livez", "/readyz", "/version", "/api", "/api/v1", "/apis/apps",
    "/openapi/v2", "/.well-known/openid-configuration", "/nope",
)
URL_VERBS = ("get", "post", "put")


def requests() -> list[Request]:
    found: list[Request] = []
    for namespace in NAMESPACES:
        for group, resource, subresource in RESOURCES:
            for verb in VERBS:
                found.append(Request(verb, resource, subresource, group, "", namespace))
        for verb, group, resource in SPECIAL:
            found.append(Request(verb, resource, "", group, "", namespace))
        for verb, resource, name in NAMED:
            found.append(Request(verb, resource, "", "", name, namespace))
    for path in URLS:
        for verb in URL_VERBS:
            found.append(Request(verb, path=path))
    return found


def review(user: str, groups: tuple[str, ...], request: Request) -> dict:
    spec: dict = {"user": user, "groups": list(groups)}
    if request.path is not None:
        spec["nonResourceAttributes"] = {"path": request.path, "verb": request.verb}
    else:
        spec["resourceAttributes"] = {
            "namespace": request.namespace, "verb": request.verb, "group": request.api_group,
            "resource": request.resource, "subresource": request.subresource, "name": request.name,
        }
    return {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": spec}


class Reviewer:
    """SubjectAccessReviews over one pooled HTTPS connection set (thread-safe)."""

    def __init__(self, kubeconfig: Path) -> None:
        from kubernetes import client, config
        from kubernetes.client.rest import RESTClientObject

        configuration = client.Configuration()
        config.load_kube_config(str(kubeconfig), client_configuration=configuration, persist_config=False)
        configuration.connection_pool_maxsize = 16
        self.url = configuration.host + "/apis/authorization.k8s.io/v1/subjectaccessreviews"
        self.pool = RESTClientObject(configuration).pool_manager

    def allowed(self, body: dict) -> bool:
        response = self.pool.request(
            "POST", self.url, body=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        assert response.status == 201, response.data[:300]
        return bool(json.loads(response.data)["status"].get("allowed"))


@pytest.fixture(scope="module")
def oracle(kube_apiserver):
    """The fixtures applied, aggregated, and the model built from the live RBAC objects."""
    apply_manifests(kube_apiserver, [str(DATA)])
    # stand in for the clusterrole-aggregation controller the harness does not run
    harness_rbac.aggregate_cluster_roles(kube_apiserver)
    # the authorizer's informers catch up asynchronously: wait for the last objects
    assert eventually(
        lambda: sar_allowed(kube_apiserver, "bob", [AUTH], "get", "configmaps", "oracle-c")
        and sar_allowed(kube_apiserver, "dave", [AUTH], "list", "ingresses", "", "networking.k8s.io")
        and sar_allowed(kube_apiserver, "mallory", ["devs"], "get", "widgets", "oracle-b", "oracle.example.com")
    ), "the server never granted what the fixtures grant"
    live = read(kube_apiserver, resources=RBAC_RESOURCES)
    assert not live.unread, live.messages()
    model = RBACModel.build(Inventory.from_objects(live.objects), load_builtin(enabled=False))
    return model, live




def test_model_holds_the_servers_rbac(oracle):
    model, live = oracle
    # the built-in roles come from the server, aggregated ones with their rules
    assert "cluster-admin" in model.cluster_roles and "system:node" in model.cluster_roles
    assert "widgets" in {r for rule in model.cluster_roles["edit"].rules for r in rule.resources}
    assert model.cluster_roles["oracle-agg-parent"].aggregated_from == (
        "oracle-agg-child-ingresses", "oracle-agg-child-jobs",
    )
    assert not model.invalid  # the server holds only valid objects
    assert all(o.location.file.startswith("cluster:") for o in live.objects)


def test_rbac_model_agrees_with_subject_access_review(kube_apiserver, oracle, request):
    model, _ = oracle
    reviewer = Reviewer(kube_apiserver.kubeconfig)
    grid = [(user, groups, req) for user, groups in SUBJECTS for req in requests()]
    with ThreadPoolExecutor(max_workers=8) as pool:
        server = list(pool.map(lambda item: reviewer.allowed(review(*item)), grid, chunksize=64))
    disagreements = []
    allowed = 0
    for (user, groups, req), answer in zip(grid, server, strict=True):
        decision = model.authorize(UserInfo(user, groups), req)
        allowed += answer
        if decision.allowed != answer:
            disagreements.append(
                f"{user or '(no name)'} {list(groups)}: {req.describe()}: server "
                f"{'allows' if answer else 'denies'}, model {'allows' if decision.allowed else 'denies'}"
                f" ({decision.reason})"
            )
    total = len(grid)
    show(
        request,
        f"RBAC oracle: {total - len(disagreements):,}/{total:,} decisions agree "
        f"({allowed:,} allowed, {total - allowed:,} denied; {len(SUBJECTS)} subjects)",
    )
    assert not disagreements, "\n".join(disagreements[:40])
    # the grid is not trivially one-sided
    assert 0.05 < allowed / total < 0.95
