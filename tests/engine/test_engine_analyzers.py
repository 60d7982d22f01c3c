"""Analyzer rules: validation of names and params, hits to findings, and the built-in analyzers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from enginekit import container, deployment, evaluate, make_rule, pod, rule_dict, write_pack
from pydantic import BaseModel, ConfigDict

from auditor.analysis import registry
from auditor.analysis.registry import AnalysisContext, AnalyzerSpec, Hit, all_analyzers
from auditor.engine.rules import RulePackError, load_pack
from auditor.threat import Severity


class ProbeParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target: str
    limit: int = 3


CALLS: list[str] = []


def _probe(context: AnalysisContext, params: ProbeParams) -> Iterator[Hit]:
    """Test analyzer: one hit per object, graded by name, with a memo shared across rules."""
    names = context.memo("probe.names", lambda: CALLS.append("built") or [r.name for r in context.inventory])
    for resource in context.inventory:
        yield Hit(
            resource=resource,
            message=f"{params.target}: {resource.name}",
            key=params.target,
            severity=Severity.critical if resource.name == "hot" else None,
            details={"seen": len(names)},
        )


@pytest.fixture
def probe(monkeypatch):
    all_analyzers()  # built-ins first, so the test entry is the only addition
    monkeypatch.setitem(registry._REGISTRY, "test.probe", AnalyzerSpec("test.probe", _probe, ProbeParams, "probe"))
    CALLS.clear()
    return "test.probe"


def _pack_error(tmp_path, **rule) -> str:
    path = write_pack(tmp_path, [rule_dict(**rule)])
    with pytest.raises(RulePackError) as error:
        load_pack(path)
    return str(error.value).removeprefix(f"{path}:")


PARAM_ERRORS = [
    ({"analyzer": "test.probe"}, "check.params.target: Field required"),
    ({"analyzer": "test.probe", "params": {"target": "x", "limit": "many"}},
     "check.params.limit: Input should be a valid integer, unable to parse string as an integer"),
    ({"analyzer": "test.probe", "params": {"target": "x", "typo": 1}},
     "check.params.typo: Extra inputs are not permitted"),
    ({"analyzer": "test.probe", "params": "target=x"},
     "check.params: Input should be a valid dictionary"),
    ({"analyzer": "inventory.duplicates", "params": {"strict": True}},
     "check.params.strict: Extra inputs are not permitted"),
    ({"analyzer": "test.probe", "params": {"target": "x"}, "path": "a"},
     "check.path: Extra inputs are not permitted"),
]


@pytest.mark.parametrize("check, error", PARAM_ERRORS, ids=[e for _, e in PARAM_ERRORS])
def test_bad_analyzer_params_name_the_field(tmp_path, probe, check, error):
    assert _pack_error(tmp_path, check=check) == f"6: rule KA-TEST-001: {error}"


def test_unknown_analyzer(tmp_path):
    message = _pack_error(tmp_path, check={"analyzer": "rbac.nope"})
    assert message.startswith("6: rule KA-TEST-001: check.analyzer: unknown analyzer 'rbac.nope'; known: ")
    for name in ("inventory.duplicates", "serviceaccount.unneeded_token"):
        assert name in message


@pytest.mark.parametrize(
    "extra, error",
    [({"target": "container"}, "target: analyzer rules take neither 'target' nor 'when'"),
     ({"when": {"path": "kind", "exists": True}}, "when: analyzer rules take neither 'target' nor 'when'")],
)
def test_analyzer_rules_take_no_target_or_when(tmp_path, extra, error):
    message = _pack_error(tmp_path, check={"analyzer": "inventory.duplicates"}, **extra)
    assert message == f"6: rule KA-TEST-001: {error}"


def test_hits_become_findings(probe):
    rules = [
        make_rule(id="KA-TEST-001", severity="low", check={"analyzer": probe, "params": {"target": "a"}},
                  match={"excludeNamespaces": ["kube-system"]}),
        make_rule(id="KA-TEST-002", severity="low", check={"analyzer": probe, "params": {"target": "b"}},
                  match={"kinds": ["Deployment"]}),
    ]
    objects = [deployment(name="hot", namespace="shop"), pod(name="cool", namespace="shop"),
               pod(name="sys", namespace="kube-system")]
    found = evaluate(rules, objects)
    assert sorted((f.rule, f.resource.name, f.severity.value, f.message) for f in found) == [
        ("KA-TEST-001", "cool", "low", "a: cool"),
        ("KA-TEST-001", "hot", "critical", "a: hot"),  # the analyzer graded the hit itself
        ("KA-TEST-002", "hot", "critical", "b: hot"),
    ]
    assert all(f.details == {"seen": 3} for f in found)
    assert CALLS == ["built"], "the memo is shared by the rules of one scan"
    # the hit's key is part of the identity: the same object, two keys, two fingerprints
    hot = [f for f in found if f.resource.name == "hot"]
    assert len({f.fingerprint for f in hot}) == 2


# ---------------------------------------------------------------------------------------
# inventory.duplicates

DUPLICATES = make_rule(id="KA-INV-001", check={"analyzer": "inventory.duplicates"})


def _cm(name, namespace=None, kind="ConfigMap", api_version="v1"):
    metadata = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata}


@pytest.mark.parametrize(
    "objects, count",
    [
        ([_cm("a"), _cm("a")], 1),
        ([_cm("a"), _cm("a"), _cm("a")], 2),
        ([_cm("a"), _cm("a", "default")], 1),  # the default namespace is the same namespace
        ([_cm("a", "x"), _cm("a", "y")], 0),
        ([_cm("a"), _cm("a", kind="Secret")], 0),
        ([_cm("web", kind="Deployment", api_version="apps/v1"),
          _cm("web", kind="Deployment", api_version="apps/v1beta2")], 1),  # versions of one group
        ([_cm("web", kind="Deployment", api_version="apps/v1"),
          _cm("web", kind="Deployment", api_version="extensions/v1beta1")], 0),  # two groups
    ],
)
def test_duplicates(objects, count):
    assert len(evaluate(DUPLICATES, objects)) == count


def test_duplicate_message_names_the_first_copy():
    (finding,) = evaluate(DUPLICATES, [_cm("a", "shop"), _cm("a", "shop")])
    assert finding.message.startswith("ConfigMap shop/a is declared again (first at <memory>)")


# ---------------------------------------------------------------------------------------
# serviceaccount.unneeded_token

TOKEN = make_rule(id="KA-CTR-007", check={"analyzer": "serviceaccount.unneeded_token"})


def _sa(name, namespace="shop", automount=None):
    obj = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": namespace}}
    if automount is not None:
        obj["automountServiceAccountToken"] = automount
    return obj


def _binding(subjects, namespace="shop", kind="RoleBinding"):
    metadata = {"name": "b"}
    if kind == "RoleBinding":
        metadata["namespace"] = namespace
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": kind,
        "metadata": metadata,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": subjects,
    }


def _web(**spec):
    return deployment(container("app"), name="web", namespace="shop", **spec)


SA_SUBJECT = {"kind": "ServiceAccount", "name": "web", "namespace": "shop"}

TOKEN_CASES = [
    ("nothing set", [_web(serviceAccountName="web"), _sa("web")], True),
    ("default account", [_web()], True),
    ("pod turns it off", [_web(serviceAccountName="web", automountServiceAccountToken=False), _sa("web")], False),
    ("account turns it off", [_web(serviceAccountName="web"), _sa("web", automount=False)], False),
    ("pod overrides account", [_web(serviceAccountName="web", automountServiceAccountToken=True),
                               _sa("web", automount=False)], True),
    ("deprecated serviceAccount field", [_web(serviceAccount="web"), _sa("web", automount=False)], False),
    ("RoleBinding", [_web(serviceAccountName="web"), _binding([SA_SUBJECT])], False),
    ("RoleBinding, subject namespace implied", [_web(serviceAccountName="web"),
                                                _binding([{"kind": "ServiceAccount", "name": "web"}])], False),
    ("ClusterRoleBinding", [_web(serviceAccountName="web"), _binding([SA_SUBJECT], kind="ClusterRoleBinding")],
     False),
    ("binding in another namespace", [_web(serviceAccountName="web"),
                                      _binding([{**SA_SUBJECT, "namespace": "other"}], namespace="other")], True),
    ("binding of a user of that name", [_web(serviceAccountName="web"),
                                        _binding([{"kind": "User", "name": "web"}])], True),
    ("group of the namespace's accounts", [_web(serviceAccountName="web"), _binding(
        [{"kind": "Group", "name": "system:serviceaccounts:shop", "apiGroup": "rbac.authorization.k8s.io"}])],
     False),
    ("group of all accounts", [_web(serviceAccountName="web"), _binding(
        [{"kind": "Group", "name": "system:serviceaccounts", "apiGroup": "rbac.authorization.k8s.io"}],
        kind="ClusterRoleBinding")], False),
    ("group of another namespace's accounts", [_web(serviceAccountName="web"), _binding(
        [{"kind": "Group", "name": "system:serviceaccounts:other", "apiGroup": "rbac.authorization.k8s.io"}],
        namespace="other")], True),
]


@pytest.mark.parametrize("case, objects, reported", TOKEN_CASES, ids=[c[0] for c in TOKEN_CASES])
def test_unneeded_token(case, objects, reported):
    found = evaluate(TOKEN, objects)
    assert bool(found) is reported
    if found:
        assert found[0].path == "spec.template.spec"


def test_unneeded_token_message_says_which_setting_decides():
    (finding,) = evaluate(TOKEN, [_web(serviceAccountName="web", automountServiceAccountToken=True)])
    assert "'web'" in finding.message and "(the pod spec sets automountServiceAccountToken)" in finding.message
