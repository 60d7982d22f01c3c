"""The CEL compiler's shape and its refusals (its semantics are checked by the e2e tests,
against the real API server)."""

from __future__ import annotations

import pytest

from auditor.engine.rules import Rule
from auditor.webhook.cel import CannotCompile, Names, Scope, compile_condition, literal
from auditor.webhook.vap import ExportOptions, export_policies, rule_form


def rule(**fields) -> Rule:
    base = {
        "id": "T-CEL-001", "title": "t", "severity": "high", "stride": ["Tampering"], "layer": "container",
        "risk": "r", "remediation": "fix it", "target": "container",
    }
    return Rule.model_validate({**base, **fields})


def test_literals():
    assert literal("a'b\"c") == '"a\'b\\"c"'
    assert literal(1024.0) == "1024" and literal(0.5) == "0.5"
    assert literal([True, None, {"k": 1}]) == '[true, null, {"k": 1}]'


def test_paths_guard_each_step_and_fan_out():
    cel = compile_condition(
        rule(check={"path": "ports[*].hostPort", "gt": 0}).check,
        Scope("container", pod="P", pod_meta="M", container="c"), Names(),
    )
    assert cel == "(has(c.ports) && c.ports.exists(x1, (has(x1.hostPort) && ((type(x1.hostPort) == int || type(x1.hostPort) == double) && x1.hostPort > 0))))"


def test_quoted_keys_use_index_syntax_and_reserved_words_are_escaped():
    cel = compile_condition(
        rule(target="object", match={"kinds": ["Pod"]},
             check={"path": 'metadata.annotations["a.b/c"]', "exists": True}).check,
        Scope("object"), Names(),
    )
    assert cel == '(has(object.metadata) && (has(object.metadata.annotations) && "a.b/c" in object.metadata.annotations))'
    ns = compile_condition(rule(target="object", check={"path": "metadata.namespace", "equals": "x"}).check, Scope("object"))
    assert "object.metadata.__namespace__" in ns


def test_pod_fallback_reads_the_pod_when_the_container_is_silent():
    cel = compile_condition(
        rule(check={"path": "securityContext.runAsNonRoot", "equals": True}).check,
        Scope("container", pod="P", pod_meta="M", container="c"), Names(),
    )
    assert cel.startswith("((has(c.securityContext) && has(c.securityContext.runAsNonRoot)) ? ")
    assert "P.securityContext.runAsNonRoot" in cel


def test_quantifier_all_and_every():
    scope = Scope("container", pod="P", pod_meta="M", container="c")
    cel = compile_condition(rule(check={"path": "ports[*].containerPort", "lt": 1024, "quantifier": "all"}).check, scope)
    assert cel.startswith("(c.ports") or cel.startswith("((has(c.ports)")
    assert " && !" in cel


@pytest.mark.parametrize(
    "pattern, feature",
    [("(?<=a)b", "look-behind"), ("(a)\\1", "back-references"), ("a(?=b)", "look-ahead"), ("a*+", "possessive")],
)
def test_regular_expressions_re2_lacks_are_refused(pattern, feature):
    with pytest.raises(CannotCompile, match=feature):
        rule_form(rule(check={"path": "image", "matches": pattern}), ExportOptions().settings)


def test_a_leading_negative_lookahead_is_rewritten():
    form = rule_form(rule(check={"path": "image", "matches": r"^(?!\$\()\S"}), ExportOptions().settings)
    assert '.matches("^(?:\\\\$\\\\()")' in form.fires and '.matches("^\\\\S")' in form.fires


def test_unsupported_matches_are_reported_not_exported():
    pick = rule(id="T-CEL-002", match={"namespaces": ["prod"]}, check={"path": "image", "exists": True})
    export = export_policies([pick], ExportOptions())
    assert ("T-CEL-002", "match.namespaces (an allow-list of namespaces) is not exported") in export.skipped
