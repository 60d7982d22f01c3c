"""Who may use a PodSecurityPolicy: the RBAC grants of `use`, as the PSP admission checked them."""

from __future__ import annotations

from pspkit import admin_binding, binding, model, psp_obj, use_role

from auditor.analysis.psp import Audience, psps_of, use_grants


def audience(*objects, name="p") -> Audience:
    inventory, rbac = model(psp_obj(name), *objects)
    (policy,) = [p for p in psps_of(inventory) if p.name == name]
    return Audience(use_grants(rbac, policy))


def test_nobody_may_use_a_policy_without_grants():
    found = audience()
    assert found.level == "nobody" and found.grants == []
    assert "no subject may use it" in found.describe()


def test_a_rolebinding_grants_use_in_its_namespace_only():
    found = audience(use_role("psp", "p"), binding("b", "ClusterRole/psp", "sa:shop:web", namespace="shop"))
    (grant,) = found.grants
    assert grant.subject_id == "sa:shop:web" and grant.namespace == "shop"
    assert grant.pod_namespaces() == ("shop",)
    assert found.level == "named"


def test_a_namespaced_role_works_too():
    found = audience(use_role("psp", "p", namespace="shop"), binding("b", "Role/psp", "user:alice", namespace="shop"))
    assert [g.subject_id for g in found.grants] == ["user:alice"]


def test_a_clusterrolebinding_grants_use_in_every_namespace():
    found = audience(use_role("psp", "p"), binding("b", "ClusterRole/psp", "user:alice", "sa:ci:deployer"))
    alice, deployer = found.grants
    assert alice.namespace is None and alice.pod_namespaces() == ("*",)
    # a ServiceAccount's pods run in its own namespace
    assert deployer.pod_namespaces() == ("ci",)


def test_resource_names_limit_the_grant_to_named_policies():
    assert audience(use_role("psp", "other"), binding("b", "ClusterRole/psp", "user:alice")).level == "nobody"
    # no resourceNames: every policy
    assert audience(use_role("psp"), binding("b", "ClusterRole/psp", "user:alice")).level == "named"


def test_the_extensions_group_is_checked_for_backward_compatibility():
    found = audience(use_role("psp", "p", group="extensions"), binding("b", "ClusterRole/psp", "user:alice"))
    assert found.level == "named"


def test_other_verbs_do_not_grant_use():
    found = audience(use_role("psp", "p", verbs=("get", "list")), binding("b", "ClusterRole/psp", "user:alice"))
    assert found.level == "nobody"


def test_broad_groups_make_the_audience_broad():
    for group in ("system:authenticated", "system:serviceaccounts", "system:unauthenticated"):
        found = audience(use_role("psp", "p"), binding("b", "ClusterRole/psp", f"group:{group}"))
        assert found.level == "broad", group
    found = audience(use_role("psp", "p"), binding("b", "ClusterRole/psp", "user:system:anonymous"))
    assert found.level == "broad"


def test_the_service_accounts_of_one_namespace_are_named_and_admit_pods_there():
    found = audience(use_role("psp", "p"), binding("b", "ClusterRole/psp", "group:system:serviceaccounts:shop"))
    (grant,) = found.grants
    assert found.level == "named"
    assert grant.pod_namespaces() == ("shop",)
    assert "every ServiceAccount of namespace shop" in found.describe()


def test_cluster_admins_are_listed_apart_and_do_not_count():
    found = audience(*admin_binding("root", "user:root"))
    assert [g.audience for g in found.grants] == ["admin"]
    assert found.level == "nobody"
    assert "only subjects that hold every permission" in found.describe()


def test_a_binding_to_a_missing_role_grants_nothing():
    assert audience(binding("b", "ClusterRole/missing", "user:alice")).level == "nobody"


def test_broad_grants_are_described_first():
    found = audience(
        use_role("psp", "p"),
        binding("a", "ClusterRole/psp", "user:alice"),
        binding("b", "ClusterRole/psp", "group:system:authenticated"),
    )
    assert found.describe().startswith("usable by Group system:authenticated (every authenticated user")
