"""Change manifests as text, so that everything not changed stays byte for byte.

A fix is planned on plain data (the object as Kubernetes reads it); this module turns the
difference between the old and the new object into *text edits* of the original file:

* a key added to a block mapping becomes lines inserted after the mapping's last content
  line, at the mapping's indentation, rendered in the document's own indentation style;
* a key added to a flow mapping (``{a: 1}``) is inserted before its closing brace;
* an item appended to a list goes after the last item (block) or before ``]`` (flow);
* a changed scalar is replaced in place, token for token.

Nothing else is re-emitted, so comments, key order, quoting, blank lines, flow style and
unrelated formatting survive exactly; the positions come from ruamel.yaml's round-trip
parser. Changes the module cannot express this way (a key removed, a list reordered, an
edit inside a YAML anchor that aliases share) raise :class:`UnsupportedEdit`, and the fix
is reported instead of guessed.

JSON files take the same path (JSON is YAML's flow style): new keys and values are
written as JSON, one per line at the surrounding indentation where the object spans lines.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq


class UnsupportedEdit(Exception):
    """A change that cannot be written as a minimal text edit."""


@dataclass(frozen=True)
class TextEdit:
    start: int  #: offset in the original text
    end: int  #: offset; ``start == end`` for an insertion
    text: str


@dataclass(frozen=True)
class Style:
    """How a document indents: spaces per mapping level, and where a list's dash sits
    relative to its key (``containers:`` / ``  - name:`` is 2, ``- name:`` is 0)."""

    mapping: int = 2
    dash: int = 2


# ----------------------------------------------------------------------------- loading


def _rt_yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.allow_duplicate_keys = True  # the inventory reports duplicates; never fail on them
    return yaml


def load_yaml_documents(text: str) -> list[Any]:
    """Every document of a YAML stream as ruamel round-trip nodes (with positions)."""
    return list(_rt_yaml().load_all(text))


def unwrap_objects(document: Any) -> list[Any]:
    """The objects of one document, as the inventory loader sees them: the document itself,
    or the items of a ``List`` kind; documents that are not objects give nothing."""
    if not isinstance(document, dict):
        return []
    kind, api_version = document.get("kind"), document.get("apiVersion")
    if not isinstance(kind, str) or not kind or not isinstance(api_version, str) or not api_version:
        return []
    items = document.get("items")
    if kind.endswith("List") and isinstance(items, list) and "spec" not in document:
        out: list[Any] = []
        for item in items:
            if isinstance(item, dict) and "kind" not in item and kind != "List":
                # typed lists leave kind implied; the item still is an object
                out.append(item)
                continue
            out.extend(unwrap_objects(item))
        return out
    return [document]


class LineIndex:
    """Offsets of line starts, to turn ruamel's (line, column) into text offsets."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0]
        for match in re.finditer("\n", text):
            self.starts.append(match.end())

    def offset(self, line: int, col: int) -> int:
        return self.starts[line] + col

    def line_text(self, line: int) -> str:
        if line >= len(self.starts):
            return ""
        start = self.starts[line]
        end = self.text.find("\n", start)
        return self.text[start:] if end < 0 else self.text[start:end]

    def line_end(self, line: int) -> int:
        """Offset just after the line's newline (or the end of the text)."""
        return self.starts[line + 1] if line + 1 < len(self.starts) else len(self.text)

    @property
    def count(self) -> int:
        return len(self.starts)


# ----------------------------------------------------------------------------- style


def detect_style(root: Any, lines: LineIndex) -> Style:
    """The indentation of a document, from its first nested block mapping and block list."""
    mapping: int | None = None
    dash: int | None = None
    for parent, key, value in _walk(root):
        if not isinstance(parent, CommentedMap) or parent.fa.flow_style():
            continue
        key_line, key_col = parent.lc.key(key)
        if mapping is None and isinstance(value, CommentedMap) and not value.fa.flow_style() and value:
            if value.lc.line > key_line:
                mapping = value.lc.col - key_col
        if dash is None and isinstance(value, CommentedSeq) and not value.fa.flow_style() and value:
            if value.lc.line > key_line:
                dash = value.lc.col - key_col
        if mapping is not None and dash is not None:
            break
    return Style(mapping if mapping and mapping > 0 else 2, dash if dash is not None and dash >= 0 else 2)


def _walk(node: Any) -> Iterator[tuple[Any, Any, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield node, key, value
            yield from _walk(value)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield node, index, value
            yield from _walk(value)


# ----------------------------------------------------------------------------- rendering

_PLAIN = re.compile(r"^[A-Za-z_/][A-Za-z0-9_./-]*$")
_RESERVED = re.compile(
    r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|null|Null|NULL|~)$"
)


def render_scalar(value: Any, quote: str | None = None) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    text = str(value)
    if quote is None and _PLAIN.match(text) and not _RESERVED.match(text):
        return text
    if quote == "'":
        return "'" + text.replace("'", "''") + "'"
    return json.dumps(text)


@dataclass(frozen=True)
class _Quoted:
    """A scalar to render with a given quote character (to match its siblings)."""

    value: Any
    quote: str


def render_flow(value: Any, quote: str | None = None) -> str:
    if isinstance(value, _Quoted):
        return render_scalar(value.value, value.quote if isinstance(value.value, str) else None)
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{" + ", ".join(f"{render_scalar(k)}: {render_flow(v, quote)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(render_flow(v, quote) for v in value) + "]"
    return render_scalar(value, quote)


def render_block_entry(key: Any, value: Any, col: int, style: Style) -> str:
    """``key: value`` as block lines starting at column ``col``."""
    pad = " " * col
    head = f"{pad}{render_scalar(key)}:"
    if isinstance(value, dict) and value:
        return head + "\n" + "".join(
            render_block_entry(k, v, col + style.mapping, style) for k, v in value.items()
        )
    if isinstance(value, list) and value:
        return head + "\n" + render_block_items(value, col + style.dash, style)
    return f"{head} {render_flow(value)}\n"


def render_block_items(items: list[Any], dash_col: int, style: Style, quote: str | None = None) -> str:
    out = []
    pad = " " * dash_col
    for item in items:
        if isinstance(item, dict) and item:
            entries = list(item.items())
            first_key, first_value = entries[0]
            first = render_block_entry(first_key, first_value, dash_col + 2, style)
            out.append(pad + "- " + first[dash_col + 2:])
            out.extend(render_block_entry(k, v, dash_col + 2, style) for k, v in entries[1:])
        elif isinstance(item, list) and item:
            out.append(pad + "- " + render_flow(item, quote) + "\n")
        else:
            out.append(pad + "- " + render_flow(item, quote) + "\n")
    return "".join(out)


# ----------------------------------------------------------------------------- positions


def _is_comment_or_blank(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _block_end_line(lines: LineIndex, first_line: int, col: int) -> int:
    """The last content line of a block node whose entries start at column ``col`` and
    whose last entry starts on ``first_line`` (trailing blank and comment lines excluded)."""
    last = first_line
    line = first_line + 1
    while line < lines.count:
        text = lines.line_text(line)
        if text.startswith(("---", "...")) and (len(text) == 3 or text[3] in " \t"):
            break
        if _is_comment_or_blank(text):
            line += 1
            continue
        indent = _indent(text)
        if indent < col or (indent == col and not text[indent:].startswith("-")):
            break
        last = line
        line += 1
    return last


def _last_key_line(mapping: CommentedMap) -> int:
    last_key = list(mapping.keys())[-1]
    return mapping.lc.key(last_key)[0]


def _matching_close(text: str, start: int) -> int:
    """Offset of the bracket closing the flow collection opened at ``start``."""
    depth = 0
    index = start
    quote: str | None = None
    while index < len(text):
        char = text[index]
        if quote:
            if quote == "'" and char == "'" and text[index + 1:index + 2] == "'":
                index += 2
                continue
            if quote == '"' and char == "\\":
                index += 2
                continue
            if char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == "#" and index > 0 and text[index - 1] in " \t\n":
            newline = text.find("\n", index)
            index = len(text) if newline < 0 else newline
            continue
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    raise UnsupportedEdit("unterminated flow collection")


_PLAIN_END = re.compile(r"(?:\s+#|\s*$|\s*[,}\]])")


def _scalar_span(text: str, start: int, in_flow: bool) -> tuple[int, int, str | None]:
    """(start, end, quote) of the scalar token at ``start``."""
    char = text[start:start + 1]
    if char in ("'", '"'):
        index = start + 1
        while index < len(text):
            if char == "'" and text[index] == "'":
                if text[index + 1:index + 2] == "'":
                    index += 2
                    continue
                return start, index + 1, char
            if char == '"' and text[index] == "\\":
                index += 2
                continue
            if char == '"' and text[index] == '"':
                return start, index + 1, char
            index += 1
        raise UnsupportedEdit("unterminated quoted scalar")
    if char in ("|", ">", "&", "*", "!", "[", "{"):
        raise UnsupportedEdit("the value is not a plain scalar")
    line_end = text.find("\n", start)
    line_end = len(text) if line_end < 0 else line_end
    segment = text[start:line_end]
    pattern = re.compile(r"\s+#|[,}\]]") if in_flow else re.compile(r"\s+#")
    found = pattern.search(segment)
    end = start + (found.start() if found else len(segment))
    while end > start and text[end - 1] in " \t\r":
        end -= 1
    return start, end, None


def _check_shared(node: Any, where: str) -> None:
    anchor = getattr(node, "anchor", None)
    if anchor is not None and getattr(anchor, "value", None):
        raise UnsupportedEdit(f"{where} is a YAML anchor that aliases may share; edit it by hand")
    if isinstance(node, CommentedMap) and getattr(node, "merge", None):
        raise UnsupportedEdit(f"{where} uses a YAML merge key; edit it by hand")


# ----------------------------------------------------------------------------- edits


class EditPlanner:
    """Turns ``old`` → ``new`` (plain data) into text edits of the ruamel node ``root``."""

    def __init__(self, lines: LineIndex, style: Style, json_mode: bool = False) -> None:
        self.lines = lines
        self.text = lines.text
        self.style = style
        #: the file is JSON: new values are written as JSON, in the file's layout
        self.json = json_mode
        self.edits: list[TextEdit] = []

    def _scalar(self, value: Any, quote: str | None = None) -> str:
        return json.dumps(value, ensure_ascii=False) if self.json else render_scalar(value, quote)

    def _flow(self, value: Any, quote: str | None = None, indent: str | None = None) -> str:
        if not self.json:
            return render_flow(value, quote)
        if indent is None or not isinstance(value, (dict, list)) or not value:
            return json.dumps(value, ensure_ascii=False)
        step = self.style.mapping
        return json.dumps(value, ensure_ascii=False, indent=step).replace("\n", "\n" + indent)

    def _flow_insert(self, open_at: int, close_at: int, entries: list[tuple[str, Any]], where: str) -> None:
        """Insert entries (``(rendered key or "", value)``) into a flow collection."""
        inner = self.text[open_at + 1:close_at]
        multiline = "\n" in inner and bool(inner.strip())
        if multiline:
            # one entry per line, at the indentation of the last entry
            stripped_end = open_at + 1 + len(inner.rstrip())
            line_start = self.text.rfind("\n", 0, stripped_end) + 1
            indent = " " * _indent(self.text[line_start:stripped_end])
            body = "".join(
                ",\n" + indent + (f"{key}: " if key else "") + self._flow(value, indent=indent)
                for key, value in entries
            )
            self.edits.append(TextEdit(stripped_end, stripped_end, body))
            return
        body = ", ".join((f"{key}: " if key else "") + self._flow(value) for key, value in entries)
        if inner.strip():
            stripped_end = open_at + 1 + len(inner.rstrip())
            self.edits.append(TextEdit(stripped_end, stripped_end, ", " + body))
        else:
            self.edits.append(TextEdit(open_at + 1, close_at, body))

    # -- public

    def diff(self, node: Any, old: Any, new: Any, where: str = "") -> None:
        if isinstance(old, dict) and isinstance(new, dict):
            if not isinstance(node, CommentedMap):
                raise UnsupportedEdit(f"{where or 'object'}: not a mapping in the file")
            removed = [k for k in old if k not in new]
            if removed:
                raise UnsupportedEdit(f"{where}: removing {removed[0]!r} is not supported")
            added = {k: v for k, v in new.items() if k not in old}
            for key in old:
                if old[key] != new[key]:
                    if key not in node:
                        raise UnsupportedEdit(f"{where}.{key}: not found in the file")
                    self._change(node, key, old[key], new[key], f"{where}.{key}".lstrip("."))
            if added:
                _check_shared(node, where or "the object")
                self._add_keys(node, added, where)
            return
        raise UnsupportedEdit(f"{where}: unsupported change")

    def _change(self, parent: Any, key: Any, old: Any, new: Any, where: str) -> None:
        node = parent[key]
        if isinstance(old, dict) and isinstance(new, dict):
            self.diff(node, old, new, where)
            return
        if isinstance(old, list) and isinstance(new, list):
            if not isinstance(node, CommentedSeq):
                raise UnsupportedEdit(f"{where}: not a list in the file")
            common = min(len(old), len(new))
            for index in range(common):
                if old[index] != new[index]:
                    if isinstance(old[index], dict) and isinstance(new[index], dict):
                        self.diff(node[index], old[index], new[index], f"{where}[{index}]")
                    elif _is_scalar(old[index]) and _is_scalar(new[index]):
                        _check_shared(node, where)
                        self._replace_scalar(node, index, new[index], where)
                    else:
                        raise UnsupportedEdit(f"{where}[{index}]: unsupported change")
            if len(new) < len(old):
                raise UnsupportedEdit(f"{where}: removing list items is not supported")
            if len(new) > len(old):
                _check_shared(node, where)
                self._append_items(node, new[len(old):], where)
            return
        if _is_scalar(old) and _is_scalar(new):
            _check_shared(parent, where)
            self._replace_scalar(parent, key, new, where)
            return
        raise UnsupportedEdit(f"{where}: changing the type of a value is not supported")

    # -- scalars

    def _replace_scalar(self, parent: Any, key: Any, value: Any, where: str) -> None:
        if isinstance(parent, CommentedMap):
            line, col = parent.lc.value(key)
            in_flow = bool(parent.fa.flow_style())
        else:
            line, col = parent.lc.item(key)
            in_flow = bool(parent.fa.flow_style())
        start = self.lines.offset(line, col)
        start, end, quote = _scalar_span(self.text, start, in_flow)
        if isinstance(value, str) and quote is None and not _PLAIN.match(value):
            quote = '"'
        if self.json:
            self.edits.append(TextEdit(start, end, json.dumps(value, ensure_ascii=False)))
            return
        self.edits.append(TextEdit(start, end, render_scalar(value, quote if isinstance(value, str) else None)))

    # -- mappings

    def _add_keys(self, node: CommentedMap, added: dict[Any, Any], where: str) -> None:
        if node.fa.flow_style():
            open_at = self.lines.offset(node.lc.line, node.lc.col)
            if self.text[open_at:open_at + 1] != "{":
                raise UnsupportedEdit(f"{where}: cannot find the mapping's brace")
            close_at = _matching_close(self.text, open_at)
            self._flow_insert(open_at, close_at, [(self._scalar(k), v) for k, v in added.items()], where)
            return
        if not node:
            raise UnsupportedEdit(f"{where}: empty block mapping")
        col = node.lc.col
        last_line = _block_end_line(self.lines, _last_key_line(node), col)
        at = self.lines.line_end(last_line)
        text = "".join(render_block_entry(k, v, col, self.style) for k, v in added.items())
        if at == len(self.text) and not self.text.endswith("\n"):
            text = "\n" + text.rstrip("\n")
        self.edits.append(TextEdit(at, at, text))

    # -- lists

    def _append_items(self, node: CommentedSeq, items: list[Any], where: str) -> None:
        quote = _sibling_quote(self.text, self.lines, node)
        if node.fa.flow_style():
            open_at = self.lines.offset(node.lc.line, node.lc.col)
            if self.text[open_at:open_at + 1] != "[":
                raise UnsupportedEdit(f"{where}: cannot find the list's bracket")
            close_at = _matching_close(self.text, open_at)
            if self.json or quote is None:
                self._flow_insert(open_at, close_at, [("", item) for item in items], where)
            else:
                self._flow_insert(open_at, close_at, [("", _Quoted(item, quote)) for item in items], where)
            return
        if not node:
            raise UnsupportedEdit(f"{where}: empty block list")
        dash_col = node.lc.col
        last_item_line = node.lc.item(len(node) - 1)[0]
        last_line = _block_end_line(self.lines, last_item_line, dash_col)
        at = self.lines.line_end(last_line)
        text = render_block_items(items, dash_col, self.style, quote)
        if at == len(self.text) and not self.text.endswith("\n"):
            text = "\n" + text.rstrip("\n")
        self.edits.append(TextEdit(at, at, text))


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, (dict, list))


def _sibling_quote(text: str, lines: LineIndex, node: CommentedSeq) -> str | None:
    """The quote character the list's first scalar item uses, to match it."""
    if not node or isinstance(node[0], (dict, list)):
        return None
    line, col = node.lc.item(0)
    char = text[lines.offset(line, col):lines.offset(line, col) + 1]
    return char if char in ("'", '"') else None


def apply_edits(text: str, edits: list[TextEdit]) -> str:
    """Apply non-overlapping edits (insertions at one point keep their planning order).

    Inserted lines take the file's line endings (CRLF when the file uses them)."""
    if "\r\n" in text:
        edits = [TextEdit(e.start, e.end, e.text.replace("\r\n", "\n").replace("\n", "\r\n")) for e in edits]
    ordered = sorted(enumerate(edits), key=lambda item: (item[1].start, item[0]))
    out: list[str] = []
    position = 0
    for _, edit in ordered:
        if edit.start < position:
            raise UnsupportedEdit("two changes overlap in the file")
        out.append(text[position:edit.start])
        out.append(edit.text)
        position = edit.end
    out.append(text[position:])
    return "".join(out)
