"""The authorizer's semantics over bindings, subjects, groups and aggregation: one test per point.

Each case is a tiny inventory, a user and a request, and whether the API server would allow it.
"""

from __future__ import annotations

import pytest
from rbackit import binding, build, role, rule

from auditor.analysis.rbac import Request, UserInfo, parse_subject
from auditor.analysis.rbac.identity import implicit_groups

READ_PODS = rule(["get", "list"], ["pods"])


def user(text: str, *groups: str, implicit: bool = True) -> UserInfo:
    return parse_subject(text).user_info(tuple(groups), implicit=implicit)


def allowed(model, who: UserInfo, verb: str, target: str, namespace: str | None = None, name=None) -> bool:
    return model.authorize(who, Request.parse(verb, target, namespace, name)).allowed


# --------------------------------------------------------------------------- bindings


@pytest.mark.parametrize(
    "namespace, expected",
    [("team", True), ("other", False), (None, False)],  # None: a cluster-wide request
)
def test_rolebinding_to_role_applies_in_its_namespace_only(namespace, expected):
    model = build(role("reader", READ_PODS, namespace="team"), binding("b", "Role/reader", "user:alice", namespace="team"))
    assert allowed(model, user("user:alice"), "list", "pods", namespace) is expected


@pytest.mark.parametrize("namespace, expected", [("team", True), ("other", False), (None, False)])
def test_rolebinding_to_clusterrole_is_scoped_to_the_binding_namespace(namespace, expected):
    model = build(role("reader", READ_PODS), binding("b", "ClusterRole/reader", "user:alice", namespace="team"))
    assert allowed(model, user("user:alice"), "list", "pods", namespace) is expected


@pytest.mark.parametrize("namespace", ["team", "other", None])
def test_clusterrolebinding_applies_in_every_namespace_and_cluster_wide(namespace):
    model = build(role("reader", READ_PODS), binding("b", "ClusterRole/reader", "user:alice"))
    assert allowed(model, user("user:alice"), "list", "pods", namespace)


def test_rolebinding_role_ref_resolves_in_the_binding_namespace_only():
    model = build(role("reader", READ_PODS, namespace="elsewhere"), binding("b", "Role/reader", "user:alice", namespace="team"))
    assert not allowed(model, user("user:alice"), "list", "pods", "team")
    assert model.bindings[0].role is None
    assert "does not exist in namespace team" in model.bindings[0].missing_role


def test_clusterrolebinding_to_a_role_is_invalid_and_grants_nothing():
    model = build(
        role("reader", READ_PODS, namespace="team"),
        binding("b", "Role/reader", "user:alice", kind="ClusterRoleBinding"),
    )
    assert not allowed(model, user("user:alice"), "list", "pods", "team")
    assert [i.resource.name for i in model.invalid] == ["b"]
    assert "cannot refer to a Role" in model.invalid[0].problems[0]


def test_binding_to_missing_role_grants_nothing_and_the_reason_says_so():
    model = build(binding("b", "ClusterRole/ghost", "user:alice"))
    decision = model.authorize(user("user:alice"), Request.parse("list", "pods"))
    assert not decision.allowed
    assert "ClusterRole ghost does not exist" in decision.reason


@pytest.mark.parametrize(
    "ref, problem",
    [
        ({"apiGroup": "example.com", "kind": "ClusterRole", "name": "reader"}, "roleRef.apiGroup"),
        ({"apiGroup": "rbac.authorization.k8s.io", "kind": "Policy", "name": "reader"}, "roleRef.kind"),
        ({"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": ""}, "roleRef.name"),
    ],
)
def test_invalid_role_ref_makes_the_binding_invalid(ref, problem):
    obj = binding("b", "ClusterRole/reader", "user:alice")
    obj["roleRef"] = ref
    model = build(role("reader", READ_PODS), obj)
    assert not allowed(model, user("user:alice"), "list", "pods")
    assert any(problem in p for p in model.invalid[0].problems)


def test_empty_role_ref_api_group_is_defaulted():
    obj = binding("b", "ClusterRole/reader", "user:alice")
    obj["roleRef"].pop("apiGroup")
    model = build(role("reader", READ_PODS), obj)
    assert allowed(model, user("user:alice"), "list", "pods")


def test_invalid_role_is_rejected_and_its_bindings_dangle():
    bad = role("reader", READ_PODS, rule([], ["secrets"]))
    model = build(bad, binding("b", "ClusterRole/reader", "user:alice"))
    assert not allowed(model, user("user:alice"), "list", "pods")
    assert "invalid" in model.bindings[0].missing_role


def test_role_with_non_resource_urls_is_invalid():
    model = build(role("r", rule(["get"], urls=["/healthz"]), namespace="team"))
    assert model.invalid and "non-resource URLs" in model.invalid[0].problems[0]


def test_last_declaration_of_an_object_wins():
    model = build(
        role("reader", rule(["get"], ["secrets"])),
        role("reader", READ_PODS),
        binding("b", "ClusterRole/reader", "user:alice"),
    )
    assert allowed(model, user("user:alice"), "list", "pods")
    assert not allowed(model, user("user:alice"), "get", "secrets")


# --------------------------------------------------------------------------- subjects


@pytest.mark.parametrize(
    "who, expected",
    [("user:alice", True), ("user:Alice", False), ("user:alicia", False), ("group:alice", False)],
)
def test_user_subject_matches_the_exact_user_name(who, expected):
    model = build(role("reader", READ_PODS), binding("b", "ClusterRole/reader", "user:alice"))
    assert allowed(model, user(who), "list", "pods") is expected


@pytest.mark.parametrize(
    "who, groups, expected",
    [("user:bob", ("devs",), True), ("user:bob", ("ops",), False), ("user:devs", (), False)],
)
def test_group_subject_matches_group_membership(who, groups, expected):
    model = build(role("reader", READ_PODS), binding("b", "ClusterRole/reader", "group:devs"))
    assert allowed(model, user(who, *groups), "list", "pods") is expected


@pytest.mark.parametrize(
    "who, expected",
    [
        ("sa:team:bot", True),
        ("system:serviceaccount:team:bot", True),
        ("user:system:serviceaccount:team:bot", True),
        ("sa:other:bot", False),
        ("user:bot", False),
    ],
)
def test_serviceaccount_subject_matches_its_user_name(who, expected):
    model = build(role("reader", READ_PODS), binding("b", "ClusterRole/reader", "sa:team:bot"))
    assert allowed(model, user(who), "list", "pods") is expected


def test_user_subject_with_a_serviceaccount_name_matches_that_serviceaccount():
    model = build(role("reader", READ_PODS), binding("b", "ClusterRole/reader", "user:system:serviceaccount:team:bot"))
    assert allowed(model, user("sa:team:bot"), "list", "pods")


@pytest.mark.parametrize("who, expected", [("sa:team:bot", True), ("sa:other:bot", False)])
def test_rolebinding_serviceaccount_without_namespace_takes_the_binding_namespace(who, expected):
    model = build(role("reader", READ_PODS), binding("b", "ClusterRole/reader", {"kind": "ServiceAccount", "name": "bot"}, namespace="team"))
    assert allowed(model, user(who), "list", "pods", "team") is expected
    assert model.bindings[0].subjects[0].namespace_defaulted


def test_clusterrolebinding_serviceaccount_without_namespace_is_invalid():
    model = build(role("reader", READ_PODS), binding("b", "ClusterRole/reader", {"kind": "ServiceAccount", "name": "bot"}))
    assert not allowed(model, user("sa:default:bot"), "list", "pods")
    assert "namespace is required" in model.invalid[0].problems[0]


@pytest.mark.parametrize(
    "raw, problem",
    [
        ({"kind": "Robot", "name": "x"}, "not User, Group or ServiceAccount"),
        ({"kind": "User", "name": ""}, "name is required"),
        ({"kind": "User", "name": "x", "apiGroup": "example.com"}, "apiGroup must be"),
        ({"kind": "ServiceAccount", "name": "x", "namespace": "n", "apiGroup": "rbac.authorization.k8s.io"}, "apiGroup must be"),
    ],
)
def test_invalid_subjects_make_the_binding_invalid(raw, problem):
    model = build(role("reader", READ_PODS), binding("b", "ClusterRole/reader", "user:alice", raw))
    assert not allowed(model, user("user:alice"), "list", "pods")
    assert any(problem in p for p in model.invalid[0].problems)


def test_user_and_group_subjects_without_api_group_are_defaulted():
    obj = binding("b", "ClusterRole/reader", "user:alice", "group:devs")
    for item in obj["subjects"]:
        item.pop("apiGroup")
    model = build(role("reader", READ_PODS), obj)
    assert allowed(model, user("user:alice"), "list", "pods")
    assert allowed(model, user("user:bob", "devs"), "list", "pods")


# --------------------------------------------------------------------------- implicit groups


@pytest.mark.parametrize(
    "username, groups",
    [
        ("alice", ("system:authenticated",)),
        ("system:anonymous", ("system:unauthenticated",)),
        ("system:serviceaccount:team:bot", ("system:serviceaccounts", "system:serviceaccounts:team", "system:authenticated")),
    ],
)
def test_authentication_adds_implicit_groups(username, groups):
    assert implicit_groups(username) == groups


@pytest.mark.parametrize(
    "group, who, expected",
    [
        ("system:authenticated", "user:alice", True),
        ("system:authenticated", "sa:team:bot", True),
        ("system:authenticated", "user:system:anonymous", False),
        ("system:unauthenticated", "user:system:anonymous", True),
        ("system:unauthenticated", "user:alice", False),
        ("system:serviceaccounts", "sa:team:bot", True),
        ("system:serviceaccounts", "user:alice", False),
        ("system:serviceaccounts:team", "sa:team:bot", True),
        ("system:serviceaccounts:team", "sa:other:bot", False),
    ],
)
def test_implicit_group_grants(group, who, expected):
    model = build(role("reader", READ_PODS), binding("b", "ClusterRole/reader", f"group:{group}"))
    assert allowed(model, user(who), "list", "pods") is expected


def test_user_named_anonymous_bound_directly():
    model = build(role("reader", READ_PODS), binding("b", "ClusterRole/reader", "user:system:anonymous"))
    assert allowed(model, user("user:system:anonymous"), "list", "pods")


def test_exact_user_info_adds_nothing():
    """As a SubjectAccessReview: the groups given are all the groups."""
    model = build(role("reader", READ_PODS), binding("b", "ClusterRole/reader", "group:system:authenticated"))
    assert not model.authorize(UserInfo("alice", ()), Request.parse("list", "pods")).allowed
    assert model.authorize(UserInfo("alice", ("system:authenticated",)), Request.parse("list", "pods")).allowed


@pytest.mark.parametrize("target", ["pods", "nodes", "/healthz", "secrets/anything"])
def test_system_masters_bypasses_rbac(target):
    model = build()
    decision = model.authorize(user("user:root", "system:masters"), Request.parse("delete", target, "team"))
    assert decision.allowed and decision.masters


# --------------------------------------------------------------------------- non-resource URLs


def test_non_resource_urls_are_granted_by_clusterrolebindings_only():
    url_role = role("health", rule(["get"], urls=["/healthz"]))
    via_rb = build(url_role, binding("b", "ClusterRole/health", "user:alice", namespace="team"))
    via_crb = build(url_role, binding("b", "ClusterRole/health", "user:alice"))
    request = Request(verb="get", path="/healthz")
    assert not via_rb.authorize(user("user:alice"), request).allowed
    assert via_crb.authorize(user("user:alice"), request).allowed


# --------------------------------------------------------------------------- aggregation

AGG = "example.com/aggregate"


def _aggregated(selector, *sources):
    return build(role("combined", rule(["delete"], ["nodes"]), aggregate=[selector]), *sources,
                 binding("b", "ClusterRole/combined", "user:alice"))


def test_aggregation_with_match_labels_unions_selected_roles():
    model = _aggregated(
        {"matchLabels": {AGG: "true"}},
        role("a", READ_PODS, labels={AGG: "true"}),
        role("b", rule(["get"], ["services"]), labels={AGG: "true"}),
        role("c", rule(["get"], ["secrets"]), labels={AGG: "false"}),
    )
    alice = user("user:alice")
    assert allowed(model, alice, "list", "pods") and allowed(model, alice, "get", "services")
    assert not allowed(model, alice, "get", "secrets")
    assert model.cluster_roles["combined"].aggregated_from == ("a", "b")


def test_aggregation_replaces_the_declared_rules():
    model = _aggregated({"matchLabels": {AGG: "true"}}, role("a", READ_PODS, labels={AGG: "true"}))
    assert not allowed(model, user("user:alice"), "delete", "nodes")


@pytest.mark.parametrize(
    "expression, selected",
    [
        ({"key": "tier", "operator": "In", "values": ["gold", "silver"]}, {"gold", "silver"}),
        ({"key": "tier", "operator": "NotIn", "values": ["gold"]}, {"silver", "bronze", "none"}),
        ({"key": "tier", "operator": "Exists"}, {"gold", "silver", "bronze"}),
        ({"key": "tier", "operator": "DoesNotExist"}, {"none"}),
    ],
)
def test_aggregation_with_match_expressions(expression, selected):
    sources = [
        role(f"r-{tier}", rule(["get"], [f"{tier}s"]), labels={"tier": tier} if tier != "none" else {"x": "y"})
        for tier in ("gold", "silver", "bronze", "none")
    ]
    model = build(role("combined", aggregate=[{"matchExpressions": [expression]}]), *sources)
    got = {name.removeprefix("r-") for name in model.cluster_roles["combined"].aggregated_from}
    assert got == selected


def test_aggregation_selectors_are_ored_and_rules_deduplicated():
    model = build(
        role("combined", aggregate=[{"matchLabels": {"a": "1"}}, {"matchLabels": {"b": "1"}}]),
        role("x", READ_PODS, labels={"a": "1"}),
        role("y", READ_PODS, rule(["get"], ["services"]), labels={"b": "1"}),
    )
    assert len(model.cluster_roles["combined"].rules) == 2


def test_empty_selector_selects_every_other_clusterrole():
    model = build(role("everything", aggregate=[{}]), role("x", READ_PODS), role("y", rule(["get"], ["services"])))
    assert model.cluster_roles["everything"].aggregated_from == ("x", "y")


def test_aggregation_chains_and_skips_itself():
    """view → edit → admin, as the built-in roles are wired; a role never selects itself."""
    model = build(
        role("admin", aggregate=[{"matchLabels": {"to-admin": "true"}}], labels={"to-admin": "true"}),
        role("edit", aggregate=[{"matchLabels": {"to-edit": "true"}}], labels={"to-admin": "true"}),
        role("view", READ_PODS, labels={"to-edit": "true"}),
        binding("b", "ClusterRole/admin", "user:alice"),
    )
    assert allowed(model, user("user:alice"), "list", "pods")
    assert model.cluster_roles["admin"].aggregated_from == ("edit",)


def test_aggregation_cycle_converges():
    model = build(
        role("a", aggregate=[{"matchLabels": {"ring": "b"}}], labels={"ring": "a"}),
        role("b", aggregate=[{"matchLabels": {"ring": "a"}}], labels={"ring": "b"}),
        role("leaf", READ_PODS, labels={"ring": "a"}),
    )
    assert model.cluster_roles["b"].rules == model.cluster_roles["leaf"].rules
    assert model.cluster_roles["a"].rules == model.cluster_roles["leaf"].rules


def test_malformed_selector_leaves_the_declared_rules():
    model = build(
        role("combined", READ_PODS, aggregate=[{"matchExpressions": [{"key": "x", "operator": "Near"}]}]),
        role("x", rule(["get"], ["secrets"]), labels={"x": "1"}),
        binding("b", "ClusterRole/combined", "user:alice"),
    )
    assert allowed(model, user("user:alice"), "list", "pods")
    assert not allowed(model, user("user:alice"), "get", "secrets")
    assert "unknown operator" in model.selector_errors[0][1]


# --------------------------------------------------------------------------- answers


def test_reason_names_clusterrolebindings_before_rolebindings():
    model = build(
        role("reader", READ_PODS),
        binding("ns-grant", "ClusterRole/reader", "user:alice", namespace="team"),
        binding("cluster-grant", "ClusterRole/reader", "user:alice"),
    )
    decision = model.authorize(user("user:alice"), Request.parse("list", "pods", "team"))
    assert decision.grant.binding.name == "cluster-grant"


def test_who_can_lists_every_subject_with_its_grant():
    model = build(
        role("reader", READ_PODS),
        role("local", READ_PODS, namespace="team"),
        binding("c", "ClusterRole/reader", "user:alice"),
        binding("r", "Role/local", "group:devs", "sa:team:bot", namespace="team"),
        binding("o", "ClusterRole/reader", "user:eve", namespace="other"),
    )
    in_team = [e.subject_id for e in model.who_can(Request.parse("list", "pods", "team"))]
    assert in_team == ["group:system:masters", "user:alice", "group:devs", "sa:team:bot"]
    cluster_wide = [e.subject_id for e in model.who_can(Request.parse("list", "pods"))]
    assert cluster_wide == ["group:system:masters", "user:alice"]


def test_who_can_for_a_non_resource_url():
    model = build(role("health", rule(["get"], urls=["/healthz*"])), binding("c", "ClusterRole/health", "group:probes"))
    assert [e.subject_id for e in model.who_can(Request(verb="get", path="/healthz/ready"))][1:] == ["group:probes"]


def test_who_can_agrees_with_authorize():
    """Every subject who_can lists is allowed, and a subject it leaves out is not."""
    model = build(
        role("reader", READ_PODS),
        role("writer", rule(["*"], ["pods", "pods/exec"])),
        role("local", rule(["get"], ["pods"], names=["web"]), namespace="team"),
        binding("c", "ClusterRole/reader", "user:alice"),
        binding("w", "ClusterRole/writer", "group:ops", namespace="team"),
        binding("l", "Role/local", "sa:team:web", namespace="team"),
    )
    candidates = ["user:alice", "group:ops", "sa:team:web", "user:bob"]
    for verb, target, name in [("get", "pods", "web"), ("get", "pods", "db"), ("create", "pods/exec", None), ("list", "pods", None)]:
        request = Request.parse(verb, target, "team", name)
        listed = {e.subject_id for e in model.who_can(request)}
        for text in candidates:
            ref = parse_subject(text)
            assert model.authorize(ref.user_info(), request).allowed == (ref.node_id in listed), (text, request)
