"""The small text helpers PSA builds its messages with, reproduced so messages match byte for byte.

PSA writes lists as ``"a", "b"`` (no escaping), picks singular/plural by count, and
quotes annotation values with Go's ``%q``. Users grep admission errors and tests
compare them, so the wording is part of the contract.
"""

from __future__ import annotations

from collections.abc import Iterable

_GO_SHORT_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    '"': '\\"',
    "\\": "\\\\",
}


def join_quote(items: Iterable[str]) -> str:
    """``"a", "b"`` for ``[a, b]``; empty string for no items (PSA's joinQuote)."""
    items = list(items)
    if not items:
        return ""
    return '"' + '", "'.join(items) + '"'


def pluralize(singular: str, plural: str, count: int) -> str:
    """``singular`` when ``count`` is exactly 1, otherwise ``plural``."""
    return singular if count == 1 else plural


def go_quote(value: str) -> str:
    """Go's ``%q`` / ``strconv.Quote``: double-quoted, Go escapes for the unprintable."""
    if value.isprintable() and '"' not in value and "\\" not in value:
        return f'"{value}"'
    out = ['"']
    for char in value:
        escaped = _GO_SHORT_ESCAPES.get(char)
        if escaped is not None:
            out.append(escaped)
        elif char.isprintable():
            out.append(char)
        else:
            code = ord(char)
            if code < 0x80:
                out.append(f"\\x{code:02x}")
            elif code < 0x10000:
                out.append(f"\\u{code:04x}")
            else:
                out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def containers_phrase(names: list[str]) -> str:
    """``container "a"`` or ``containers "a", "b"``: the subject of most container messages."""
    if len(names) == 1:
        return f'container "{names[0]}"'
    return 'containers "' + '", "'.join(names) + '"'
