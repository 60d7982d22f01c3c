"""Rule matching, point by point as upstream's evaluation helpers (one table per point)."""

from __future__ import annotations

import random

import pytest
from rbackit import rule

from auditor.analysis.rbac import PolicyRule, Request, RuleIndex


def allows(rule_obj: dict, request: Request) -> bool:
    return PolicyRule.from_obj(rule_obj).allows(request)


def req(verb, target, namespace="ns", name=None, group=None) -> Request:
    return Request.parse(verb, target, namespace, name, group)


@pytest.mark.parametrize(
    "rule_verbs, verb, expected",
    [
        (["get"], "get", True),
        (["get", "list"], "list", True),
        (["get"], "list", False),
        (["*"], "delete", True),
        (["*"], "impersonate", True),
        (["Get"], "get", False),  # verbs are case-sensitive
        (["get"], "*", False),  # asking about "*" needs a "*" rule
    ],
)
def test_verb_matches(rule_verbs, verb, expected):
    assert allows(rule(rule_verbs, ["pods"]), req(verb, "pods")) is expected


@pytest.mark.parametrize(
    "rule_groups, group, expected",
    [
        ([""], "", True),
        ([""], "apps", False),
        (["apps"], "apps", True),
        (["apps"], "", False),
        (["*"], "apps", True),
        (["*"], "", True),
        (["extensions"], "apps", False),
    ],
)
def test_api_group_matches(rule_groups, group, expected):
    assert allows(rule(["get"], ["deployments"], groups=rule_groups), req("get", "deployments", group=group)) is expected


@pytest.mark.parametrize(
    "rule_resources, target, expected",
    [
        (["pods"], "pods", True),
        (["pods"], "services", False),
        (["pods"], "pods/exec", False),  # a subresource must be granted by name
        (["pods/exec"], "pods/exec", True),
        (["pods/exec"], "pods", False),
        (["*"], "pods", True),
        (["*"], "pods/exec", True),
        (["*/status"], "pods/status", True),
        (["*/status"], "services/status", True),
        (["*/status"], "pods", False),  # */sub never matches a bare resource
        (["*/status"], "pods/exec", False),
        (["*/exec"], "pods/exec", True),
        (["pods/*"], "pods/exec", False),  # only "*" and "*/sub" are patterns
        (["pods/*"], "pods", False),
        (["*/*"], "pods/exec", False),
    ],
)
def test_resource_matches(rule_resources, target, expected):
    assert allows(rule(["get"], rule_resources), req("get", target)) is expected


@pytest.mark.parametrize(
    "names, verb, name, expected",
    [
        (None, "get", "a", True),
        (None, "list", None, True),
        (["a"], "get", "a", True),
        (["a"], "get", "b", False),
        (["a"], "list", None, False),  # a named rule never allows a request without a name
        (["a"], "create", None, False),
        (["a", "b"], "delete", "b", True),
    ],
)
def test_resource_name_matches(names, verb, name, expected):
    rule_obj = rule(["get", "list", "create", "delete"], ["secrets"], names=names)
    assert allows(rule_obj, req(verb, "secrets", name=name)) is expected


@pytest.mark.parametrize(
    "urls, path, expected",
    [
        (["/healthz"], "/healthz", True),
        (["/healthz"], "/healthz/ping", False),
        (["/healthz/*"], "/healthz/ping", True),
        (["/healthz/*"], "/healthz/", True),
        (["/healthz/*"], "/healthz", False),
        (["/api*"], "/apis/apps", True),  # the star is a plain prefix, not a path segment
        (["*"], "/anything/at/all", True),
        (["/metrics"], "/metrics/", False),
    ],
)
def test_non_resource_url_matches(urls, path, expected):
    assert allows(rule(["get"], urls=urls), Request(verb="get", path=path)) is expected


def test_non_resource_rules_and_resource_requests_never_mix():
    url_rule = rule(["*"], urls=["*"])
    resource_rule = rule(["*"], ["*"], groups=["*"])
    assert not allows(url_rule, req("get", "pods"))
    assert not allows(resource_rule, Request(verb="get", path="/healthz"))


@pytest.mark.parametrize(
    "target, group, expected",
    [
        (("create", "deployments", None), "apps", ("deployments", "", "apps")),
        (("create", "deployments.apps", None), "apps", ("deployments", "", "apps")),
        (("create", "pods/exec", None), "", ("pods", "exec", "")),
        (("get", "widgets.example.com/status", None), "example.com", ("widgets", "status", "example.com")),
        (("get", "deployments", "extensions"), "extensions", ("deployments", "", "extensions")),
        (("get", "unknownthings", None), "", ("unknownthings", "", "")),
    ],
)
def test_request_parse_resolves_the_group(target, group, expected):
    verb, resource, api_group = target
    parsed = Request.parse(verb, resource, api_group=api_group)
    assert (parsed.resource, parsed.subresource, parsed.api_group) == expected


def test_request_parse_non_resource_url():
    parsed = Request.parse("get", "/healthz", namespace="ignored")
    assert parsed.path == "/healthz" and not parsed.is_resource_request


@pytest.mark.parametrize(
    "rule_obj, namespaced, problem",
    [
        ({"apiGroups": [""], "resources": ["pods"], "verbs": []}, False, "verbs must contain"),
        ({"nonResourceURLs": ["/x"], "verbs": ["get"]}, True, "cannot apply to non-resource URLs"),
        ({"nonResourceURLs": ["/x"], "resources": ["pods"], "verbs": ["get"]}, False, "both regular resources"),
        ({"resources": ["pods"], "verbs": ["get"]}, False, "at least one api group"),
        ({"apiGroups": [""], "verbs": ["get"]}, False, "at least one resource"),
    ],
)
def test_rule_validation_mirrors_the_api_server(rule_obj, namespaced, problem):
    problems = PolicyRule.from_obj(rule_obj).problems(namespaced)
    assert any(problem in p for p in problems), problems


def test_valid_rules_have_no_problems():
    assert PolicyRule.from_obj(rule(["get"], ["pods"])).problems(True) == []
    assert PolicyRule.from_obj(rule(["get"], urls=["/healthz"])).problems(False) == []


def test_rule_index_agrees_with_a_linear_scan():
    """The (verb, group, resource) index returns exactly the rules that allow a request."""
    generator = random.Random(7)
    verbs = ["get", "list", "create", "delete", "*", "escalate"]
    groups = ["", "apps", "*", "rbac.authorization.k8s.io"]
    resources = ["pods", "pods/exec", "*/status", "*", "secrets", "deployments", "pods/status", "pods/*"]
    rules = []
    for _ in range(400):
        rules.append(PolicyRule(
            verbs=tuple(generator.sample(verbs, generator.randint(1, 2))),
            api_groups=tuple(generator.sample(groups, generator.randint(1, 2))),
            resources=tuple(generator.sample(resources, generator.randint(1, 3))),
            resource_names=tuple(generator.sample(["a", "b"], generator.randint(0, 1))),
        ))
    index: RuleIndex[int] = RuleIndex()
    for position, item in enumerate(rules):
        index.add(item, position)
    for _ in range(300):
        target = generator.choice(["pods", "pods/exec", "pods/status", "secrets", "deployments", "deployments/status"])
        request = Request.parse(
            generator.choice(verbs[:-2] + ["escalate"]), target, "ns",
            generator.choice([None, "a", "b"]), generator.choice(groups[:2] + ["rbac.authorization.k8s.io"]),
        )
        expected = {p for p, item in enumerate(rules) if item.allows(request)}
        assert {p for _, p in index.matching(request)} == expected, request
