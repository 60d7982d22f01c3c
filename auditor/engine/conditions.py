"""The declarative condition language: pydantic models, and their compilation to closures.

A rule's ``check`` (and optional ``when``) is a tree of conditions::

    {all: [C, ...]}   every condition holds
    {any: [C, ...]}   at least one holds
    {not: C}          C does not hold
    {path: P, OP: V}  the values at field path P satisfy operator OP

Operators: ``exists``, ``equals``, ``in``, ``not_in``, ``matches``, ``gt``, ``gte``, ``lt``,
``lte``, ``contains``, ``subset_of``, and ``some``/``every`` (a nested condition on each
element of a list, so that two fields of the same element can be tested together). A path
that fans out (``ports[*].hostPort``) holds when any value satisfies the operator, or every
value with ``quantifier: all``.

Conditions are validated once and compiled into plain Python closures, so evaluating a rule
on an object costs a few function calls, not a walk over a model.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Strict,
    Tag,
    field_validator,
    model_validator,
)

from .paths import PathError, Segment, compile_resolver, parse_path

OPERATORS: tuple[str, ...] = (
    "exists",
    "equals",
    "in",
    "not_in",
    "matches",
    "gt",
    "gte",
    "lt",
    "lte",
    "contains",
    "subset_of",
    "some",
    "every",
)

#: Roots a path may start from. Without a root, a path starts at the rule's target.
ROOTS: tuple[str, ...] = ("$object", "$pod", "$podMetadata", "$container", "$containerType")
#: Inside ``some``/``every``, paths start at the element; roots still reach the outer target.

#: securityContext fields a container inherits from the pod's securityContext when unset.
POD_INHERITED_SECURITY_FIELDS: frozenset[str] = frozenset(
    {
        "runAsUser",
        "runAsGroup",
        "runAsNonRoot",
        "seLinuxOptions",
        "seccompProfile",
        "appArmorProfile",
        "windowsOptions",
    }
)


class Target:
    """What a compiled condition is evaluated against: one object, pod spec or container."""

    __slots__ = ("obj", "pod_spec", "pod_metadata", "container", "container_field", "element")

    def __init__(
        self,
        obj: dict,
        pod_spec: dict | None = None,
        pod_metadata: dict | None = None,
        container: dict | None = None,
        container_field: str | None = None,
        element: Any = None,
    ) -> None:
        self.obj = obj
        self.pod_spec = pod_spec
        self.pod_metadata = pod_metadata
        self.container = container
        self.container_field = container_field
        self.element = element

    def at(self, element: Any) -> Target:
        """The same target, with ``element`` as the root of nested ``some``/``every`` paths."""
        return Target(
            self.obj, self.pod_spec, self.pod_metadata, self.container, self.container_field,
            element,
        )


TargetKind = Literal["object", "pod", "container"]
_Scope = Literal["object", "pod", "container", "element"]
Predicate = Callable[[Target], bool]
#: A comparison operand: an int or a float, never a bool or a numeric string (no coercion).
Number = Annotated[float, Strict()]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class PathCondition(_Strict):
    """``{path: P, <operator>: value}``: exactly one operator."""

    path: str
    quantifier: Literal["any", "all"] = "any"
    exists: bool | None = None
    equals: Any = None
    in_: list[Any] | None = Field(default=None, alias="in")
    not_in: list[Any] | None = None
    matches: str | None = None
    gt: Number | None = None
    gte: Number | None = None
    lt: Number | None = None
    lte: Number | None = None
    contains: Any = None
    subset_of: list[Any] | None = None
    some: Condition | None = None
    every: Condition | None = None

    @field_validator("path")
    @classmethod
    def _path_parses(cls, value: str) -> str:
        root, dot, rest = value.partition(".") if value.startswith("$") else ("", "", value)
        if root and root not in ROOTS:
            raise ValueError(f"unknown root {root!r}; roots are {', '.join(ROOTS)}")
        if root == "$containerType" and dot:
            raise ValueError("$containerType is a value, not an object: use it without a path")
        if dot or not root:
            try:
                parse_path(rest, prefix=root + dot)
            except PathError as error:
                raise ValueError(str(error)) from None
        return value

    @field_validator(
        "exists", "equals", "in_", "not_in", "matches", "gt", "gte", "lt", "lte", "contains",
        "subset_of", "some", "every", mode="before",
    )
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        # Only given operators are validated: null here was written in the rule.
        if value is None:
            raise ValueError(
                "an operator's value cannot be null (a null field counts as unset: "
                "test for it with exists: false)"
            )
        return value

    @field_validator("matches")
    @classmethod
    def _regex_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as error:
                raise ValueError(f"invalid regular expression: {error}") from None
        return value

    @model_validator(mode="after")
    def _one_operator(self) -> PathCondition:
        used = [op for op in self.operators_set()]
        if len(used) != 1:
            raise ValueError(
                f"a path condition needs exactly one operator of {', '.join(OPERATORS)}"
                f" (found {', '.join(used) if used else 'none'})"
            )
        return self

    def operators_set(self) -> list[str]:
        given = self.model_fields_set
        return [op for op in OPERATORS if ("in_" if op == "in" else op) in given]

    @property
    def operator(self) -> str:
        return self.operators_set()[0]

    @property
    def operand(self) -> Any:
        return getattr(self, "in_" if self.operator == "in" else self.operator)


class AllOf(_Strict):
    all: list[Condition] = Field(min_length=1)


class AnyOf(_Strict):
    any: list[Condition] = Field(min_length=1)


class NotOf(_Strict):
    not_: Condition = Field(alias="not")


def _condition_tag(value: Any) -> str | None:
    if isinstance(value, dict):
        for key in ("all", "any", "not", "path"):
            if key in value:
                return key
        return None
    if isinstance(value, BaseModel):
        return {AllOf: "all", AnyOf: "any", NotOf: "not", PathCondition: "path"}.get(type(value))
    return None


Condition = Annotated[
    Annotated[AllOf, Tag("all")] | Annotated[AnyOf, Tag("any")] | Annotated[NotOf, Tag("not")] | Annotated[PathCondition, Tag("path")],
    Discriminator(
        _condition_tag,
        custom_error_type="condition",
        custom_error_message="a condition is a mapping with one of: all, any, not, path",
    ),
]

AllOf.model_rebuild()
AnyOf.model_rebuild()
NotOf.model_rebuild()
PathCondition.model_rebuild()


#: The roots each target has; any other root never has a value there.
TARGET_ROOTS: dict[str, tuple[str, ...]] = {
    "object": ("$object",),
    "pod": ("$object", "$pod", "$podMetadata"),
    "container": ROOTS,
}


def path_root(path: str) -> str:
    """The root a path starts from (``$pod``), or ``""`` for the target itself."""
    return path.partition(".")[0] if path.startswith("$") else ""


def iter_path_conditions(condition: Any, where: str) -> Iterator[tuple[str, PathCondition]]:
    """Every path condition of a tree, with its field location (``check.all[0].some``)."""
    if isinstance(condition, AllOf):
        for index, item in enumerate(condition.all):
            yield from iter_path_conditions(item, f"{where}.all[{index}]")
    elif isinstance(condition, AnyOf):
        for index, item in enumerate(condition.any):
            yield from iter_path_conditions(item, f"{where}.any[{index}]")
    elif isinstance(condition, NotOf):
        yield from iter_path_conditions(condition.not_, f"{where}.not")
    elif isinstance(condition, PathCondition):
        yield where, condition
        if condition.operator in ("some", "every"):
            yield from iter_path_conditions(condition.operand, f"{where}.{condition.operator}")


def root_unavailable(root: str, target: str) -> str | None:
    """Why ``root`` cannot be used by a rule with ``target`` (None when it can)."""
    if root == "" or root in TARGET_ROOTS[target]:
        return None
    if root in ("$pod", "$podMetadata"):
        return f"{root} is only available to rules with target pod or container"
    return f"{root} is only available to rules with target container"


# ----------------------------------------------------------------------------------------
# Compilation


def _same(a: Any, b: Any) -> bool:
    """Equality that keeps booleans apart from numbers (``True == 1`` in Python, not in YAML)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _value_test(condition: PathCondition) -> Callable[[Any], bool]:
    op, operand = condition.operator, condition.operand
    if op == "equals":
        return lambda v: _same(v, operand)
    if op == "in":
        return lambda v: any(_same(v, c) for c in operand)
    if op == "not_in":
        return lambda v: not any(_same(v, c) for c in operand)
    if op == "matches":
        pattern = re.compile(operand)
        return lambda v: isinstance(v, str) and pattern.search(v) is not None
    if op in ("gt", "gte", "lt", "lte"):
        compare = {
            "gt": lambda v: v > operand,
            "gte": lambda v: v >= operand,
            "lt": lambda v: v < operand,
            "lte": lambda v: v <= operand,
        }[op]
        return lambda v: _is_number(v) and compare(v)
    if op == "contains":
        return lambda v: (
            any(_same(item, operand) for item in v)
            if isinstance(v, list)
            else isinstance(v, str) and isinstance(operand, str) and operand in v
        )
    if op == "subset_of":
        return lambda v: isinstance(v, list) and all(
            any(_same(item, allowed) for allowed in operand) for item in v
        )
    raise AssertionError(f"unhandled operator {op}")  # pragma: no cover


def _root_getter(root: str, target_kind: _Scope) -> Callable[[Target], Any]:
    if root == "$object":
        return lambda t: t.obj
    if root == "$pod":
        return lambda t: t.pod_spec
    if root == "$podMetadata":
        return lambda t: t.pod_metadata
    if root == "$container":
        return lambda t: t.container
    if root == "$containerType":
        return lambda t: t.container_field
    # the target itself
    if target_kind == "element":
        return lambda t: t.element
    if target_kind == "container":
        return lambda t: t.container
    if target_kind == "pod":
        return lambda t: t.pod_spec
    return lambda t: t.obj


def _values_getter(condition: PathCondition, target_kind: _Scope) -> Callable[[Target], list]:
    raw = condition.path
    if raw.startswith("$"):
        root, _, rest = raw.partition(".")
    else:
        root, rest = "", raw
    get_root = _root_getter(root, target_kind)
    if not rest:
        return lambda t: [v] if (v := get_root(t)) is not None else []
    segments: tuple[Segment, ...] = parse_path(rest)
    resolve = compile_resolver(segments)
    # The container's own fields: the target of a container rule, or $container anywhere
    # (inside some/every too, where a path without a root starts at the element).
    inherits = (
        ((root == "" and target_kind == "container") or root == "$container")
        and len(segments) >= 2
        and segments[0] == "securityContext"
        and segments[1] in POD_INHERITED_SECURITY_FIELDS
    )
    if not inherits:
        return lambda t: resolve(get_root(t))

    def with_pod_fallback(t: Target) -> list:
        # Kubernetes semantics: a container's unset securityContext field takes the pod's.
        found = resolve(t.container)
        if found or t.pod_spec is None or t.container is None:
            return found
        container_ctx = t.container.get("securityContext") if t.container else None
        if isinstance(container_ctx, dict) and container_ctx.get(segments[1]) is not None:
            return found  # set on the container (deeper keys just absent): no inheritance
        return resolve(t.pod_spec)

    return with_pod_fallback


def _elements(values: list) -> list:
    """``some``/``every`` look inside lists: the elements of each list value, or the value."""
    out: list = []
    for value in values:
        if isinstance(value, list):
            out.extend(v for v in value if v is not None)
        else:
            out.append(value)
    return out


def compile_condition(condition: Any, target_kind: _Scope) -> Predicate:
    """Turn a validated condition into a predicate over :class:`Target`."""
    if isinstance(condition, AllOf):
        parts = [compile_condition(c, target_kind) for c in condition.all]
        return lambda t: all(p(t) for p in parts)
    if isinstance(condition, AnyOf):
        parts = [compile_condition(c, target_kind) for c in condition.any]
        return lambda t: any(p(t) for p in parts)
    if isinstance(condition, NotOf):
        inner = compile_condition(condition.not_, target_kind)
        return lambda t: not inner(t)
    assert isinstance(condition, PathCondition)
    values = _values_getter(condition, target_kind)
    if condition.operator in ("some", "every"):
        nested = compile_condition(condition.operand, "element")
        if condition.operator == "some":
            return lambda t: any(nested(t.at(e)) for e in _elements(values(t)))
        return lambda t: bool(found := _elements(values(t))) and all(
            nested(t.at(e)) for e in found
        )
    if condition.operator == "exists":
        if condition.exists:
            return lambda t: bool(values(t))
        return lambda t: not values(t)
    test = _value_test(condition)
    if condition.quantifier == "all":
        return lambda t: bool(found := values(t)) and all(test(v) for v in found)
    return lambda t: any(test(v) for v in values(t))


def compile_value_lookup(path: str, target_kind: TargetKind) -> Callable[[Target], list]:
    """Resolve a path as conditions do (roots, pod fallback); used by message templates."""
    return _values_getter(PathCondition(path=path, exists=True), target_kind)
