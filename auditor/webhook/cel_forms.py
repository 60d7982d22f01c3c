"""CEL forms of analyzers that judge one object by itself (beyond Pod Security).

An analyzer that relates objects to each other has none; one that reads a single object
can declare its CEL form with :func:`auditor.webhook.vap.cel_form`, and its rules are
then exported as policies. The e2e test holds each form to the analyzer's verdicts on
the rule's fixtures.
"""

from __future__ import annotations

from ..analysis.registry import AnalysisSettings
from ..engine.rules import Rule
from .vap import CelForm, cel_form


def _direction_in_force(direction: str, rules_field: str) -> str:
    # The API server defaults policyTypes on create: Ingress, and Egress when egress rules exist.
    return (
        f"(has(object.spec.policyTypes) ? '{direction}' in object.spec.policyTypes : "
        + ("true" if direction == "Ingress" else f"has(object.spec.{rules_field})")
        + ")"
    )


def _any_address(rules_field: str, peers_field: str) -> str:
    return (
        f"(has(object.spec.{rules_field}) && object.spec.{rules_field}.exists(r, has(r.{peers_field}) && "
        f"r.{peers_field}.exists(p, has(p.ipBlock) && p.ipBlock.cidr.trim().endsWith('/0'))))"
    )


@cel_form("netpol.any_address_ipblocks")
def _any_address_ipblocks(rule: Rule, params, settings: AnalysisSettings) -> CelForm:
    """NetworkPolicy peers whose ipBlock CIDR is the whole address space (…/0)."""
    fires = (
        f"({_direction_in_force('Ingress', 'ingress')} && {_any_address('ingress', 'from')}) || "
        f"({_direction_in_force('Egress', 'egress')} && {_any_address('egress', 'to')})"
    )
    return CelForm(fires, ("NetworkPolicy",), pod=False)
