"""Label selectors (``matchLabels`` and ``matchExpressions``) with Kubernetes semantics.

``matchLabels`` and every expression are ANDed. Operators: ``In`` (key present with one of
the values), ``NotIn`` (key absent, or present with none of the values), ``Exists`` and
``DoesNotExist``. An empty selector (``{}``) matches everything. A selector the API server
would reject (unknown operator, ``In`` without values, values on ``Exists``) is kept as
*invalid*: it matches nothing and the policy model reports it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


def scalar_text(value: Any) -> str | None:
    """A label key or value as the string Kubernetes would see (``None`` if not a scalar)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return None


def label_map(value: Any) -> dict[str, str]:
    """``metadata.labels`` (or a Service selector) as a str → str dict; junk entries dropped."""
    if not isinstance(value, dict):
        return {}
    labels: dict[str, str] = {}
    for key, item in value.items():
        text_key, text_value = scalar_text(key), scalar_text(item)
        if text_key is not None and text_value is not None:
            labels[text_key] = text_value
    return labels


@dataclass(frozen=True, slots=True)
class Requirement:
    key: str
    operator: str
    values: tuple[str, ...]

    def matches(self, labels: Mapping[str, str]) -> bool:
        op = self.operator
        if op == "In":
            return labels.get(self.key) in self.values
        if op == "NotIn":
            return self.key not in labels or labels[self.key] not in self.values
        if op == "Exists":
            return self.key in labels
        return self.key not in labels  # DoesNotExist

    def __str__(self) -> str:
        if self.operator == "Exists":
            return self.key
        if self.operator == "DoesNotExist":
            return f"!{self.key}"
        word = "in" if self.operator == "In" else "notin"
        return f"{self.key} {word} ({','.join(sorted(self.values))})"

    def go_string(self) -> str:
        """The rendering the exposure report uses: ``{Key:k,Operator:In,Values:[a b],}``."""
        return f"{{Key:{self.key},Operator:{self.operator},Values:[{' '.join(self.values)}],}}"


@dataclass(frozen=True, slots=True)
class Selector:
    """A compiled label selector; hashable by meaning (``key``), so equal selectors dedupe."""

    match_labels: tuple[tuple[str, str], ...]
    requirements: tuple[Requirement, ...]
    error: str | None = None

    @property
    def is_empty(self) -> bool:
        """``{}``: matches every object."""
        return not self.match_labels and not self.requirements and self.error is None

    @property
    def valid(self) -> bool:
        return self.error is None

    @property
    def key(self) -> tuple:
        return (
            self.match_labels,
            tuple(sorted((r.key, r.operator, tuple(sorted(set(r.values)))) for r in self.requirements)),
            self.error,
        )

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.error is not None:
            return False
        for key, value in self.match_labels:
            if labels.get(key) != value:
                return False
        return all(requirement.matches(labels) for requirement in self.requirements)

    def __str__(self) -> str:
        """Kubernetes' selector syntax: ``app=web,tier in (a,b),!legacy``; ``{}`` → ``<all>``."""
        if self.error is not None:
            return f"<invalid: {self.error}>"
        parts = [f"{k}={v}" for k, v in self.match_labels] + [str(r) for r in self.requirements]
        return ",".join(parts) if parts else "<all>"

    def exposure_string(self) -> str:
        """matchLabels as ``k=v,...`` then expressions in Go struct syntax, sorted."""
        parts = []
        if self.match_labels:
            parts.append(",".join(f"{k}={v}" for k, v in self.match_labels))
        if self.requirements:
            parts.append(",".join(sorted(r.go_string() for r in self.requirements)))
        return ",".join(parts)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.match_labels:
            out["matchLabels"] = dict(self.match_labels)
        if self.requirements:
            out["matchExpressions"] = [
                {"key": r.key, "operator": r.operator, **({"values": list(r.values)} if r.values else {})}
                for r in self.requirements
            ]
        return out


EMPTY = Selector((), ())


def parse_selector(value: Any) -> Selector | None:
    """Compile a LabelSelector; ``None`` when the field is absent (``null``)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        return Selector((), (), f"selector is a {type(value).__name__}, not an object")
    labels_raw = value.get("matchLabels")
    if labels_raw is not None and not isinstance(labels_raw, dict):
        return Selector((), (), "matchLabels is not an object")
    match_labels = tuple(sorted(label_map(labels_raw).items()))
    requirements: list[Requirement] = []
    expressions = value.get("matchExpressions")
    if expressions is not None and not isinstance(expressions, list):
        return Selector(match_labels, (), "matchExpressions is not a list")
    for index, item in enumerate(expressions or ()):
        where = f"matchExpressions[{index}]"
        if not isinstance(item, dict):
            return Selector(match_labels, tuple(requirements), f"{where} is not an object")
        key = scalar_text(item.get("key"))
        operator = item.get("operator")
        raw_values = item.get("values")
        if raw_values is None:
            raw_values = []
        if not key:
            return Selector(match_labels, tuple(requirements), f"{where} has no key")
        if operator not in OPERATORS:
            return Selector(
                match_labels, tuple(requirements), f"{where} has unknown operator {operator!r}"
            )
        if not isinstance(raw_values, list):
            return Selector(match_labels, tuple(requirements), f"{where}.values is not a list")
        values = tuple(v for v in (scalar_text(x) for x in raw_values) if v is not None)
        if operator in ("In", "NotIn") and not values:
            return Selector(
                match_labels, tuple(requirements),
                f"{where}: operator {operator} needs at least one value",
            )
        if operator in ("Exists", "DoesNotExist") and values:
            return Selector(
                match_labels, tuple(requirements),
                f"{where}: operator {operator} takes no values",
            )
        requirements.append(Requirement(key, operator, values))
    return Selector(match_labels, tuple(requirements))
