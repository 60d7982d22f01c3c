"""Smoke tests proving the harness gives a real, working API server.

Each test checks one behaviour the auditor's own tests will lean on: the
pinned version, CRUD through the official client, admission, RBAC
enforcement, server-side dry-run and paginated lists.
"""

from __future__ import annotations

import uuid

import pytest
from harness.apiserver import pinned_kubernetes_version
from harness.waiting import eventually as wait_for
from kubernetes import client
from kubernetes.client.rest import ApiException

pytestmark = pytest.mark.e2e


def eventually(check, timeout=10.0, interval=0.05):
    """Poll ``check()`` until it returns a truthy value (RBAC caches update asynchronously)."""
    return wait_for(check, timeout, interval)


def continue_token(listing) -> str | None:
    """The list continue token, whatever the client's generation names the field."""
    meta = listing.metadata
    return getattr(meta, "var_continue", None) or getattr(meta, "_continue", None)


@pytest.fixture(scope="module")
def core(kube_apiserver):
    return client.CoreV1Api(kube_apiserver.api_client())


@pytest.fixture(scope="module")
def rbac_api(kube_apiserver):
    return client.RbacAuthorizationV1Api(kube_apiserver.api_client())


def test_version_matches_pin(kube_apiserver):
    pinned = pinned_kubernetes_version()
    assert kube_apiserver.version == pinned
    info = client.VersionApi(kube_apiserver.api_client()).get_code()
    assert info.git_version == pinned
    assert (info.major, info.minor) == tuple(pinned.lstrip("v").split(".")[:2])


def test_kubeconfig_has_admin_context(kube_apiserver):
    from kubernetes import config

    _, active = config.list_kube_config_contexts(str(kube_apiserver.kubeconfig))
    assert active["name"] == "kube-auditor-e2e"
    me = client.AuthenticationV1Api(kube_apiserver.api_client()).create_self_subject_review(
        client.V1SelfSubjectReview()
    )
    assert me.status.user_info.username == "kube-auditor-admin"
    assert "system:masters" in me.status.user_info.groups


def test_list_namespaces(core):
    names = {ns.metadata.name for ns in core.list_namespace().items}
    assert {"default", "kube-system", "kube-public"} <= names


def test_create_namespace_serviceaccount_configmap_pod(kube_apiserver, core, e2e_namespace):
    ns = e2e_namespace
    core.create_namespaced_service_account(
        ns, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="scanner"))
    )
    core.create_namespaced_config_map(
        ns,
        client.V1ConfigMap(metadata=client.V1ObjectMeta(name="settings"), data={"mode": "audit"}),
    )
    pod = client.V1Pod(
        metadata=client.V1ObjectMeta(name="web"),
        spec=client.V1PodSpec(
            service_account_name="scanner",
            containers=[client.V1Container(name="web", image="registry.invalid/web:1")],
        ),
    )
    created = core.create_namespaced_pod(ns, pod)

    # The ServiceAccount admission plugin ran: it mounted the projected API token.
    assert any(v.name.startswith("kube-api-access-") for v in created.spec.volumes)
    # No scheduler, no nodes: the pod is stored but never scheduled.
    stored = core.read_namespaced_pod("web", ns)
    assert stored.status.phase == "Pending"
    assert stored.spec.node_name is None
    assert core.read_namespaced_config_map("settings", ns).data == {"mode": "audit"}


def test_pod_without_serviceaccount_is_rejected(core):
    # What a namespace looks like without ensure_namespace(): no `default` ServiceAccount.
    ns = f"e2e-bare-{uuid.uuid4().hex[:8]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
    pod = client.V1Pod(
        metadata=client.V1ObjectMeta(name="web"),
        spec=client.V1PodSpec(containers=[client.V1Container(name="web", image="x")]),
    )
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_pod(ns, pod)
    assert exc.value.status == 403
    assert "serviceaccount" in exc.value.body.lower()


def _sar(kube_apiserver, user, groups, ns, verb, resource):
    review = client.V1SubjectAccessReview(
        spec=client.V1SubjectAccessReviewSpec(
            user=user,
            groups=list(groups),
            resource_attributes=client.V1ResourceAttributes(
                namespace=ns, verb=verb, resource=resource
            ),
        )
    )
    api = client.AuthorizationV1Api(kube_apiserver.api_client())
    return api.create_subject_access_review(review).status.allowed


def test_rbac_denies_user_until_bound(kube_apiserver, rbac_api, e2e_namespace):
    ns = e2e_namespace
    user = f"alice-{uuid.uuid4().hex[:6]}"
    alice = client.CoreV1Api(kube_apiserver.api_client(kube_apiserver.kubeconfig_for_user(user)))

    with pytest.raises(ApiException) as exc:
        alice.list_namespaced_pod(ns)
    assert exc.value.status == 403
    assert _sar(kube_apiserver, user, ["system:authenticated"], ns, "list", "pods") is False

    rbac_api.create_namespaced_role_binding(
        ns,
        client.V1RoleBinding(
            metadata=client.V1ObjectMeta(name="alice-view"),
            role_ref=client.V1RoleRef(
                api_group="rbac.authorization.k8s.io", kind="ClusterRole", name="view"
            ),
            subjects=[
                client.RbacV1Subject(kind="User", name=user, api_group="rbac.authorization.k8s.io")
            ],
        ),
    )
    # `view` only grants through aggregation, which the harness performs at startup.
    assert eventually(
        lambda: _sar(kube_apiserver, user, ["system:authenticated"], ns, "list", "pods")
    )
    assert alice.list_namespaced_pod(ns).items == []
    assert _sar(kube_apiserver, user, ["system:authenticated"], ns, "list", "secrets") is False
    with pytest.raises(ApiException) as exc:
        alice.list_namespaced_secret(ns)
    assert exc.value.status == 403


def test_serviceaccount_token_identity_is_enforced(kube_apiserver, e2e_namespace):
    ns = e2e_namespace
    kubeconfig = kube_apiserver.kubeconfig_for_service_account(ns, "default")
    sa_client = kube_apiserver.api_client(kubeconfig)
    me = client.AuthenticationV1Api(sa_client).create_self_subject_review(
        client.V1SelfSubjectReview()
    )
    assert me.status.user_info.username == f"system:serviceaccount:{ns}:default"
    with pytest.raises(ApiException) as exc:
        client.CoreV1Api(sa_client).list_namespaced_config_map(ns)
    assert exc.value.status == 403


def test_server_side_dry_run_persists_nothing(core, e2e_namespace):
    ns = e2e_namespace
    body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="dry"), data={"k": "v"})
    answer = core.create_namespaced_config_map(ns, body, dry_run="All")
    assert answer.metadata.name == "dry"
    assert answer.metadata.uid  # the server really processed it
    with pytest.raises(ApiException) as exc:
        core.read_namespaced_config_map("dry", ns)
    assert exc.value.status == 404


def test_pagination_with_limit_and_continue(core, e2e_namespace):
    ns = e2e_namespace
    expected = {f"page-{i:02d}" for i in range(7)}
    for name in expected:
        core.create_namespaced_config_map(
            ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name))
        )

    seen, pages, token = [], 0, None
    while True:
        page = core.list_namespaced_config_map(ns, limit=3, _continue=token)
        assert len(page.items) <= 3
        seen += [cm.metadata.name for cm in page.items]
        pages += 1
        token = continue_token(page)
        if not token:
            break
    assert pages == 3
    assert sorted(seen) == sorted(expected)
