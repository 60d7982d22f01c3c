"""Field paths of the rules language: parsing once, resolving fast.

Syntax (documented in docs/rules-language.md)::

    securityContext.capabilities.add[*]        every element of a list
    ports[0].hostPort                          one element
    metadata.annotations["seccomp.security.alpha.kubernetes.io/pod"]
    data.*                                     every value of a mapping

A path resolves to the list of values found (wildcards fan out; missing keys and explicit
nulls contribute nothing, as Kubernetes treats a null field as unset).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_TOKEN = re.compile(
    r"""
    (?P<key>[A-Za-z_$][\w$-]*)            # plain key
    | \[(?P<index>-?\d+)\]                # list index
    | \[\*\]                              # list wildcard
    | (?P<star>\*)                        # mapping (or list) wildcard
    | \[(?P<q>["'])(?P<quoted>.*?)(?P=q)\]  # quoted key, may contain dots and slashes
    """,
    re.X,
)

WILDCARD = object()
Segment = str | int | object
Resolver = Callable[[Any], list[Any]]


class PathError(ValueError):
    """A field path that does not parse."""


def parse_path(path: str, prefix: str = "") -> tuple[Segment, ...]:
    """Split a path into keys, indexes and wildcards; raise PathError on bad syntax.

    ``prefix`` is what came before ``path`` in the rule (a root and its dot, ``$pod.``):
    error messages show the whole path, and positions count from its start.
    """
    if not path or not path.strip():
        if prefix:
            raise PathError(f"field path {prefix + path!r} ends with '.'")
        raise PathError("empty field path")
    shown = prefix + path
    segments: list[Segment] = []
    pos = 0
    expect_separator = False
    while pos < len(path):
        if expect_separator and path[pos] == ".":
            pos += 1
            expect_separator = False
            if pos >= len(path):
                raise PathError(f"field path {shown!r} ends with '.'")
            continue
        match = _TOKEN.match(path, pos)
        if match is None or (expect_separator and not match.group(0).startswith("[")):
            raise PathError(f"cannot parse field path {shown!r} at position {len(prefix) + pos}")
        if match.group("key") is not None:
            segments.append(match.group("key"))
        elif match.group("index") is not None:
            segments.append(int(match.group("index")))
        elif match.group("quoted") is not None:
            segments.append(match.group("quoted"))
        else:
            segments.append(WILDCARD)
        pos = match.end()
        expect_separator = True
    return tuple(segments)


def format_path(segments: tuple[Segment, ...]) -> str:
    """Render segments back into path syntax (for messages)."""
    out = ""
    for segment in segments:
        if segment is WILDCARD:
            out += "[*]"
        elif isinstance(segment, int):
            out += f"[{segment}]"
        elif re.fullmatch(r"[A-Za-z_$][\w$-]*", segment):
            out += f".{segment}" if out else segment
        else:
            out += f'["{segment}"]'
    return out


def compile_resolver(segments: tuple[Segment, ...]) -> Resolver:
    """A function from a root value to the list of values at ``segments``.

    Plain key paths, the common case, get a tight loop without wildcard handling.
    """
    if all(isinstance(s, str) for s in segments):
        keys = segments

        def resolve_keys(root: Any) -> list[Any]:
            value = root
            for key in keys:
                if type(value) is not dict:
                    return []
                value = value.get(key)
                if value is None:
                    return []
            return [value]

        return resolve_keys

    def resolve(root: Any) -> list[Any]:
        values = [root]
        for segment in segments:
            found: list[Any] = []
            for value in values:
                if segment is WILDCARD:
                    if isinstance(value, list):
                        found.extend(v for v in value if v is not None)
                    elif isinstance(value, dict):
                        found.extend(v for v in value.values() if v is not None)
                elif isinstance(segment, int):
                    if isinstance(value, list) and -len(value) <= segment < len(value):
                        item = value[segment]
                        if item is not None:
                            found.append(item)
                elif isinstance(value, dict):
                    item = value.get(segment)
                    if item is not None:
                        found.append(item)
            if not found:
                return []
            values = found
        return values

    return resolve
