"""Label selectors (``metav1.LabelSelector``) as aggregation rules use them.

Semantics of upstream ``LabelSelectorAsSelector``: ``matchLabels`` and every
``matchExpressions`` entry must all hold; an empty selector matches everything; ``In`` needs
the key with one of the values, ``NotIn`` holds when the key is absent or has another value,
``Exists``/``DoesNotExist`` test the key alone. A malformed selector (unknown operator,
``In``/``NotIn`` without values, ``Exists`` with values) is an error upstream: the
aggregation controller then leaves the aggregated role as it is, and so do we.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Matcher = Callable[[dict[str, str]], bool]


class SelectorError(ValueError):
    """A label selector that the API machinery would refuse to convert."""


def _values(expression: dict[str, Any]) -> list[str]:
    values = expression.get("values")
    if values is None:
        return []
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise SelectorError(f"values of {expression.get('key')!r} must be a list of strings")
    return values


def compile_selector(selector: Any) -> Matcher:
    """A function ``labels -> bool`` for one selector; raises :class:`SelectorError`."""
    if selector is None:
        selector = {}
    if not isinstance(selector, dict):
        raise SelectorError("a label selector must be an object")
    checks: list[Matcher] = []
    match_labels = selector.get("matchLabels") or {}
    if not isinstance(match_labels, dict):
        raise SelectorError("matchLabels must be an object")
    for key, value in match_labels.items():
        if not isinstance(value, str):
            raise SelectorError(f"matchLabels value of {key!r} must be a string")
        checks.append(lambda labels, k=key, v=value: labels.get(k) == v)
    expressions = selector.get("matchExpressions") or []
    if not isinstance(expressions, list):
        raise SelectorError("matchExpressions must be a list")
    for expression in expressions:
        if not isinstance(expression, dict) or not isinstance(expression.get("key"), str):
            raise SelectorError("each matchExpressions entry needs a key")
        key, operator, values = expression["key"], expression.get("operator"), _values(expression)
        if operator in ("In", "NotIn"):
            if not values:
                raise SelectorError(f"operator {operator} on {key!r} needs values")
            allowed = frozenset(values)
            if operator == "In":
                checks.append(lambda labels, k=key, a=allowed: k in labels and labels[k] in a)
            else:
                checks.append(lambda labels, k=key, a=allowed: labels.get(k) not in a)
        elif operator in ("Exists", "DoesNotExist"):
            if values:
                raise SelectorError(f"operator {operator} on {key!r} takes no values")
            if operator == "Exists":
                checks.append(lambda labels, k=key: k in labels)
            else:
                checks.append(lambda labels, k=key: k not in labels)
        else:
            raise SelectorError(f"unknown operator {operator!r} on {key!r}")
    return lambda labels: all(check(labels) for check in checks)


def string_labels(labels: Any) -> dict[str, str]:
    """Labels as the API server stores them: only string values (others would be rejected)."""
    if not isinstance(labels, dict):
        return {}
    return {k: v for k, v in labels.items() if isinstance(k, str) and isinstance(v, str)}
