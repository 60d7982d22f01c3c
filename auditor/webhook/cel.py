"""Rule conditions compiled to CEL, the expression language of ValidatingAdmissionPolicy.

A condition holds where a rule *fires*; :func:`compile_fires` returns a CEL expression
that is true exactly then, for the object of an admission request. The rules language
maps onto CEL closely:

* a path resolves to values: ``has()`` (or ``in`` for keys that are not identifiers)
  guards each step, ``[*]`` becomes ``exists``, an index a size check; every operator
  becomes "some value satisfies it", the only primitive needed: ``quantifier: all`` is
  "some value, and no value fails", ``every`` is "some element, and none fails";
* pod and container targets read the pod spec through the policy's variables
  (``variables.podSpec``, ``variables.podMeta``), and a container rule is
  ``<list>.exists(c, ...)`` over each container list it matches;
* the pod ``securityContext`` fallback is ``has(c.securityContext.F) ? c... : pod...``,
  as the kubelet applies it.

What cannot be said in CEL raises :class:`CannotCompile` with the reason: regular
expressions that RE2 (CEL's engine) does not support (look-around, back-references).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from ..engine.conditions import (
    POD_INHERITED_SECURITY_FIELDS,
    AllOf,
    AnyOf,
    NotOf,
    PathCondition,
)
from ..engine.paths import _TOKEN

#: CEL's reserved words: Kubernetes exposes a property with such a name as ``__name__``.
RESERVED = frozenset({
    "true", "false", "null", "in", "as", "break", "const", "continue", "else", "for",
    "function", "if", "import", "let", "loop", "package", "namespace", "return", "var",
    "void", "while",
})
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: Python regular-expression features RE2 does not have.
_RE2_UNSUPPORTED = (
    (re.compile(r"\(\?[=!]"), "look-ahead"),
    (re.compile(r"\(\?<[=!]"), "look-behind"),
    (re.compile(r"\\[1-9]"), "back-references"),
    (re.compile(r"\(\?P="), "back-references"),
    (re.compile(r"\(\?>"), "atomic groups"),
    (re.compile(r"\(\?\("), "conditional groups"),
    (re.compile(r"(?<!\\)[*+?}][+]"), "possessive quantifiers"),
    (re.compile(r"\\[AZ]"), "\\A and \\Z (use ^ and $)"),
)

POD_SPEC = "variables.podSpec"
POD_META = "variables.podMeta"


class CannotCompile(ValueError):
    """A condition with no CEL equivalent; the message says why."""


def literal(value: Any) -> str:
    """A CEL literal for a YAML value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(str(k))}: {literal(v)}" for k, v in value.items()) + "}"
    raise CannotCompile(f"no CEL literal for a {type(value).__name__}")


def and_(*parts: str) -> str:
    kept = [p for p in parts if p != "true"]
    if "false" in kept:
        return "false"
    if not kept:
        return "true"
    return kept[0] if len(kept) == 1 else "(" + " && ".join(kept) + ")"


def or_(*parts: str) -> str:
    kept = [p for p in parts if p != "false"]
    if "true" in kept:
        return "true"
    if not kept:
        return "false"
    return kept[0] if len(kept) == 1 else "(" + " || ".join(kept) + ")"


def not_(part: str) -> str:
    if part == "true":
        return "false"
    if part == "false":
        return "true"
    return f"!{part}" if part.startswith("(") or _IDENTIFIER.fullmatch(part) else f"!({part})"


# ---------------------------------------------------------------------------------------
# Paths


_KEY, _INDEX, _LIST_ALL, _MAP_ALL = "key", "index", "list*", "map*"


def _segments(path: str) -> list[tuple[str, Any]]:
    """A path (without root) as ``(kind, value)`` steps, telling ``[*]`` from ``.*``."""
    steps: list[tuple[str, Any]] = []
    pos = 0
    while pos < len(path):
        if path[pos] == ".":
            pos += 1
            continue
        match = _TOKEN.match(path, pos)
        if match is None:  # pragma: no cover - validated on load
            raise CannotCompile(f"cannot parse path {path!r}")
        if match.group("key") is not None:
            steps.append((_KEY, match.group("key")))
        elif match.group("index") is not None:
            steps.append((_INDEX, int(match.group("index"))))
        elif match.group("quoted") is not None:
            steps.append((_KEY, match.group("quoted")))
        elif match.group("star") is not None:
            steps.append((_MAP_ALL, None))
        else:
            steps.append((_LIST_ALL, None))
        pos = match.end()
    return steps


class Names:
    """Fresh comprehension variable names (nested macros need distinct ones)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, stem: str = "x") -> str:
        self.count += 1
        return f"{stem}{self.count}"


def select(base: str, key: str) -> tuple[str, str]:
    """(presence test, access) of ``key`` in ``base``."""
    if _IDENTIFIER.fullmatch(key):
        name = f"__{key}__" if key in RESERVED else key
        return f"has({base}.{name})", f"{base}.{name}"
    text = literal(key)
    return f"{text} in {base}", f"{base}[{text}]"


def some_value(base: str, steps: list[tuple[str, Any]], pred: Callable[[str], str], names: Names) -> str:
    """CEL that holds when some value at ``steps`` from ``base`` satisfies ``pred``."""
    if not steps:
        return pred(base)
    (kind, value), rest = steps[0], steps[1:]
    if kind == _KEY:
        test, access = select(base, value)
        return and_(test, some_value(access, rest, pred, names))
    if kind == _INDEX:
        if value >= 0:
            return and_(f"size({base}) > {value}", some_value(f"{base}[{value}]", rest, pred, names))
        return and_(f"size({base}) >= {-value}", some_value(f"{base}[size({base}) - {-value}]", rest, pred, names))
    var = names()
    if kind == _LIST_ALL:
        return f"{base}.exists({var}, {some_value(var, rest, pred, names)})"
    return f"{base}.exists({var}, {some_value(f'{base}[{var}]', rest, pred, names)})"


# ---------------------------------------------------------------------------------------
# Conditions


class Scope:
    """Where paths start: the CEL expressions of the target and of each root."""

    def __init__(self, target: str, obj: str = "object", pod: str | None = None,
                 pod_meta: str | None = None, container: str | None = None,
                 container_type: str | None = None, element: str | None = None) -> None:
        self.target = target  #: object, pod, container or element
        self.obj, self.pod, self.pod_meta = obj, pod, pod_meta
        self.container, self.container_type, self.element = container, container_type, element

    def at(self, element: str) -> Scope:
        return Scope("element", self.obj, self.pod, self.pod_meta, self.container, self.container_type, element)

    def root(self, name: str) -> str:
        value = {
            "$object": self.obj, "$pod": self.pod, "$podMetadata": self.pod_meta,
            "$container": self.container,
        }.get(name)
        if value is None:
            raise CannotCompile(f"{name} is not available here")
        return value

    def base(self) -> str:
        return {
            "object": self.obj, "pod": self.pod, "container": self.container, "element": self.element,
        }[self.target]  # type: ignore[return-value]


def _closing_paren(pattern: str, start: int) -> int | None:
    """Index of the ``)`` closing the group opened at ``start`` (escapes and classes honoured)."""
    depth, index, in_class = 0, start, False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return None


def _leading_negative_lookahead(pattern: str) -> tuple[str, str] | None:
    """``^(?!X)Y`` as (X, Y): it matches exactly when X does not match at the start and Y
    does, which RE2 can say as two anchored matches."""
    if not pattern.startswith("^(?!"):
        return None
    end = _closing_paren(pattern, 1)
    if end is None:
        return None
    inner, rest = pattern[4:end], pattern[end + 1:]
    if not rest or "(?" in inner and any(f.search(inner) for f, _ in _RE2_UNSUPPORTED[:2]):
        return None
    return inner, rest


def _check_regex(pattern: str) -> None:
    for finder, feature in _RE2_UNSUPPORTED:
        if finder.search(pattern):
            raise CannotCompile(f"regular expression {pattern!r} uses {feature}, which RE2 (CEL) does not support")


def _value_test(condition: PathCondition) -> Callable[[str], str]:
    op, operand = condition.operator, condition.operand
    if op == "equals":
        return lambda v: f"{v} == {literal(operand)}"
    if op == "in":
        return lambda v: f"{v} in {literal(list(operand))}"
    if op == "not_in":
        return lambda v: f"!({v} in {literal(list(operand))})"
    if op == "matches":
        split = _leading_negative_lookahead(operand)
        if split is not None:
            excluded, wanted = split
            _check_regex(excluded)
            _check_regex(wanted)
            return lambda v: (
                f"(type({v}) == string && !{v}.matches({literal('^(?:' + excluded + ')')}) && "
                f"{v}.matches({literal('^' + wanted)}))"
            )
        _check_regex(operand)
        return lambda v: f"(type({v}) == string && {v}.matches({literal(operand)}))"
    if op in ("gt", "gte", "lt", "lte"):
        symbol = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op]
        return lambda v: f"((type({v}) == int || type({v}) == double) && {v} {symbol} {literal(operand)})"
    if op == "contains":
        if isinstance(operand, str):
            return lambda v: (
                f"((type({v}) == string && {v}.contains({literal(operand)})) || "
                f"(type({v}) == list && {literal(operand)} in {v}))"
            )
        return lambda v: f"(type({v}) == list && {literal(operand)} in {v})"
    if op == "subset_of":
        allowed = literal(list(operand))
        return lambda v: f"(type({v}) == list && {v}.all(s, s in {allowed}))"
    raise CannotCompile(f"operator {op} has no CEL form")  # pragma: no cover


def _values(condition: PathCondition, scope: Scope, pred: Callable[[str], str], names: Names) -> str:
    """Some value of the condition's path satisfies ``pred`` (roots and pod fallback)."""
    raw = condition.path
    if raw.startswith("$"):
        root, _, rest = raw.partition(".")
    else:
        root, rest = "", raw
    if root == "$containerType":
        if scope.container_type is None:
            raise CannotCompile("$containerType is not available here")
        return pred(literal(scope.container_type))
    base = scope.root(root) if root else scope.base()
    steps = _segments(rest) if rest else []
    inherits = (
        ((root == "" and scope.target == "container") or root == "$container")
        and scope.pod is not None
        and len(steps) >= 2
        and steps[0] == (_KEY, "securityContext")
        and steps[1][0] == _KEY
        and steps[1][1] in POD_INHERITED_SECURITY_FIELDS
    )
    own = some_value(base, steps, pred, names)
    if not inherits:
        return own
    field = steps[1][1]
    pod_value = some_value(scope.pod, steps, pred, names)  # type: ignore[arg-type]
    set_here = f"(has({base}.securityContext) && has({base}.securityContext.{field}))"
    return f"({set_here} ? {own} : {pod_value})"


def compile_condition(condition: Any, scope: Scope, names: Names | None = None) -> str:
    """CEL that holds where ``condition`` holds."""
    names = names or Names()
    if isinstance(condition, AllOf):
        return and_(*(compile_condition(c, scope, names) for c in condition.all))
    if isinstance(condition, AnyOf):
        return or_(*(compile_condition(c, scope, names) for c in condition.any))
    if isinstance(condition, NotOf):
        return not_(compile_condition(condition.not_, scope, names))
    assert isinstance(condition, PathCondition)
    op = condition.operator
    if op == "exists":
        found = _values(condition, scope, lambda v: "true", names)
        return found if condition.exists else not_(found)
    if op in ("some", "every"):
        def elements(test: Callable[[str], str]) -> Callable[[str], str]:
            def over(value: str) -> str:
                var = names("e")
                return f"{value}.exists({var}, {test(var)})"
            return over

        def nested(var: str) -> str:
            return compile_condition(condition.operand, scope.at(var), names)

        if op == "some":
            return _values(condition, scope, elements(nested), names)
        any_element = _values(condition, scope, elements(lambda var: "true"), names)
        failing = _values(condition, scope, elements(lambda var: not_(nested(var))), names)
        return and_(any_element, not_(failing))
    test = _value_test(condition)
    if condition.quantifier == "all":
        present = _values(condition, scope, lambda v: "true", names)
        failing = _values(condition, scope, lambda v: not_(test(v)), names)
        return and_(present, not_(failing))
    return _values(condition, scope, test, names)
