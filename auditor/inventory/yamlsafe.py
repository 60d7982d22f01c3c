"""Hardened YAML and JSON parsing with Kubernetes' own scalar semantics.

Why this module exists rather than a bare ``yaml.safe_load``:

* **Kubernetes reads YAML 1.1.** ``kubectl`` and the API server decode YAML with a fork of
  go-yaml v2, where ``on``, ``yes`` and ``y`` are ``true`` and ``0644`` is octal. A scanner
  that reads ``privileged: on`` as the string ``"on"`` would pass a privileged container:
  a parser difference is a policy bypass. Every value here resolves as go-yaml v2 does
  (timestamps stay strings, as they do there).
* **Speed.** Parsing dominates a Python scanner's run time. Documents go to ``yaml-rs`` (a
  Rust YAML 1.2 parser, several times faster than libyaml through PyYAML) unless a cheap
  scan of the text finds a plain scalar whose meaning differs between YAML 1.1 and 1.2
  (``yes``/``no``/``on``/``off``/``y``/``n``, leading-zero integers, tags, merge keys); those
  documents, and anything ``yaml-rs`` rejects, take the exact path: libyaml's C parser with
  go-yaml v2's resolution rules. Both paths give identical data (tested).
* **Hostile input.** Alias expansion is bounded in both paths (a "billion laughs" file is an
  error, not an out-of-memory kill), nesting depth is bounded by the parsers, and every
  failure carries file, line and column and a one-line reason.
* **Line numbers.** Documents are split at ``---``/``...`` markers here, so each document's
  first line is known without asking the parser for node positions (the fast parser has
  none). Items of ``List`` documents get their own lines.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import BaseResolver

from .errors import InputError, InputWarning, Location

try:  # the fast path is optional: without it, every document takes the exact path
    import yaml_rs as _yaml_rs
except ImportError:  # pragma: no cover - exercised only where no wheel exists
    _yaml_rs = None

try:
    from yaml.cyaml import CParser as _Parser  # libyaml's C parser and composer
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml.composer import Composer
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Parser(Reader, Scanner, Parser, Composer):  # type: ignore[no-redef]
        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)
            Composer.__init__(self)


DEFAULT_MAX_ALIAS_NODES = 1_000_000


@dataclass(frozen=True, slots=True)
class ParseLimits:
    """Bounds that keep hostile input from exhausting the machine."""

    #: nodes that alias expansion may produce in one document (a billion-laughs guard)
    max_alias_nodes: int = DEFAULT_MAX_ALIAS_NODES
    #: whether the fast parser may be used (off: every document takes the exact path)
    use_fast_parser: bool = True


@dataclass(slots=True)
class Document:
    """One parsed YAML/JSON document and where it starts."""

    data: Any
    line: int  #: 1-based line of the document's first content line
    item_lines: list[int] | None = field(default=None)  #: for ``List`` documents, per item


# --------------------------------------------------------------------------------------
# go-yaml v2 scalar resolution (the exact path)

_BOOL_TRUE = {"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"}
_BOOL_FALSE = {"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"}
_INT_RE = re.compile(r"^[-+]?(?:0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|[0-9][0-9_]*)$")
_FLOAT_RE = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)


class _KubeResolver(BaseResolver):
    """Implicit tags as go-yaml v2 assigns them (no timestamps, no sexagesimal numbers)."""


_KubeResolver.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:" + "|".join(sorted(_BOOL_TRUE | _BOOL_FALSE)) + r")$"),
    list("yYnNtTfFoO"),
)
_KubeResolver.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)
_KubeResolver.add_implicit_resolver("tag:yaml.org,2002:int", _INT_RE, list("-+0123456789"))
_KubeResolver.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_RE, list("-+.0123456789"))
_KubeResolver.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"^<<$"), ["<"])


def _go_int_or_float(text: str) -> int | float:
    """Mirror go-yaml v2: ``strconv.ParseInt(s, 0, 64)`` first, then ``ParseFloat``."""
    digits = text.replace("_", "")
    sign = -1 if digits.startswith("-") else 1
    body = digits.lstrip("+-")
    lower = body.lower()
    try:
        if lower.startswith("0x"):
            return sign * int(body[2:], 16)
        if lower.startswith("0o"):
            return sign * int(body[2:], 8)
        if lower.startswith("0b"):
            return sign * int(body[2:], 2)
        if len(body) > 1 and body.startswith("0"):
            return sign * int(body, 8)  # C-style octal, as strconv base 0 reads it
        return sign * int(body, 10)
    except ValueError:
        return float(digits)  # e.g. "089": not octal, so go-yaml falls back to a float


class _KubeConstructor(SafeConstructor):
    """Builds plain JSON-compatible data, and records duplicate mapping keys."""

    def __init__(self) -> None:
        super().__init__()
        self.duplicate_keys: list[tuple[str, Any]] = []  # (key, mark)

    def construct_yaml_bool(self, node: ScalarNode) -> bool:
        return self.construct_scalar(node) in _BOOL_TRUE

    def construct_yaml_int(self, node: ScalarNode) -> int | float:
        return _go_int_or_float(self.construct_scalar(node))

    def construct_yaml_float(self, node: ScalarNode) -> float:
        text = self.construct_scalar(node).replace("_", "")
        lowered = text.lower()
        if lowered.endswith("inf"):
            return float("-inf") if lowered.startswith("-") else float("inf")
        if lowered == ".nan":
            return float("nan")
        return float(text)

    def construct_as_plain(self, node: Node) -> Any:
        """Explicit or unknown tags: keep the node's plain value, as go-yaml does for ours."""
        if isinstance(node, ScalarNode):
            return self.construct_scalar(node)
        if isinstance(node, SequenceNode):
            return self.construct_sequence(node, deep=True)
        return self.construct_mapping(node, deep=True)

    def construct_binary_as_text(self, node: ScalarNode) -> str:
        raw = self.construct_scalar(node)
        try:
            return base64.b64decode("".join(raw.split()), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return raw

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                key = key_node.value
                if key in seen:
                    self.duplicate_keys.append((key, key_node.start_mark))
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


for _tag in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:str"):
    _KubeConstructor.add_constructor(_tag, SafeConstructor.construct_scalar)
_KubeConstructor.add_constructor("tag:yaml.org,2002:bool", _KubeConstructor.construct_yaml_bool)
_KubeConstructor.add_constructor("tag:yaml.org,2002:int", _KubeConstructor.construct_yaml_int)
_KubeConstructor.add_constructor("tag:yaml.org,2002:float", _KubeConstructor.construct_yaml_float)
_KubeConstructor.add_constructor(
    "tag:yaml.org,2002:binary", _KubeConstructor.construct_binary_as_text
)
for _tag in ("tag:yaml.org,2002:set", "tag:yaml.org,2002:omap", "tag:yaml.org,2002:pairs"):
    _KubeConstructor.add_constructor(_tag, _KubeConstructor.construct_as_plain)
_KubeConstructor.add_constructor(None, _KubeConstructor.construct_as_plain)


class _KubeLoader(_Parser, _KubeConstructor, _KubeResolver):  # type: ignore[misc,valid-type]
    """libyaml's parser and composer with go-yaml v2 semantics on top."""

    def __init__(self, stream: str) -> None:
        _Parser.__init__(self, stream)
        _KubeConstructor.__init__(self)
        _KubeResolver.__init__(self)


# --------------------------------------------------------------------------------------
# Choosing the path

# A node starts at the beginning of a line (after indentation and "- " entries), after
# ":" "[" "{" "," "?" or "- ". Anchors and tags may precede the scalar.
_NODE_START = r"(?:^[ \t]*(?:-[ \t]+)*|[:\[{,?][ \t]*|-[ \t]+)(?:[&!][^\s]*[ \t]+)*"
_YAML11_ONLY_SCALAR = (
    r"(?:[yYnN]|yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF"
    r"|[-+]?0[0-9_]+(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?)"
)
_SCALAR_END = r"(?=[ \t]*(?:[:,\]}#\r\n]|$))"
_NEEDS_EXACT_PATH = re.compile(
    _NODE_START + _YAML11_ONLY_SCALAR + _SCALAR_END
    + r"|(?:^|[\s:\[{,-])!"  # an explicit tag
    + r"|<<[ \t]*:",  # a merge key (YAML 1.1 only)
    re.M,
)
# A marker is "---" or "..." at the start of a line; the leading newline (or the start of
# the text) is matched too, as a literal prefix makes the search several times faster.
_DOCUMENT_MARKER = re.compile(r"\n(---|\.\.\.)(?=[ \t\r\n]|\Z)")
_DIRECTIVE = re.compile(r"^%", re.M)
_LONE_CR = re.compile(r"\r(?!\n)")
_CONTENT_LINE = re.compile(r"^[ \t]*[^\s#]", re.M)


# Cheap pre-filter: a superset of the places the exact pattern can match. Every branch
# starts with a literal character, which lets the regex engine skip ahead in C; a token
# that continues a longer word is discarded by the look-ahead here and the look-behind in
# ``needs_exact_path`` (a look-behind in the pattern would defeat the skipping).
_CANDIDATE = re.compile(
    r"(?:y(?:es)?|Y(?:es|ES)?|no?|N[oO]?|o(?:n|ff)|O(?:n|N|ff|FF)|0[0-9_]*|!|<)(?![\w.-])"
)


def needs_exact_path(text: str) -> bool:
    """True when a YAML 1.2 parser could read ``text`` differently from Kubernetes.

    A fast candidate search first; each candidate's line is then checked with the exact
    pattern (a full-text search with it is several times slower).
    """
    checked_to = -1
    for candidate in _CANDIDATE.finditer(text):
        start = candidate.start()
        if start < checked_to:
            continue  # its line was checked already
        if start and text[start] not in "!<":
            before = text[start - 1]
            if before.isalnum() or before in "_.":
                continue  # the end of a longer word such as "region" or "policy"
        line_start = text.rfind("\n", 0, start) + 1
        line_end = text.find("\n", candidate.end())
        checked_to = len(text) if line_end < 0 else line_end
        if _NEEDS_EXACT_PATH.search(text, line_start, checked_to):
            return True
    return False


def _first_content_line(text: str) -> int | None:
    """0-based line of the first line holding anything but blanks and comments."""
    match = _CONTENT_LINE.search(text)
    if match is None:
        return None
    return text.count("\n", 0, match.start())


@dataclass(slots=True)
class _Chunk:
    text: str
    first_line: int  # 0-based file line of the chunk's first text line
    column_shift: int  # columns removed from the chunk's first line (a "---" marker)


def _split_documents(text: str) -> list[_Chunk]:
    """Split a YAML stream at document markers, keeping each chunk's file offset."""
    chunks: list[_Chunk] = []
    padded = "\n" + text  # so that a marker on the first line is found like any other
    start, start_line, shift = 1, 0, 0
    counted_to, line = 1, 0  # newlines are counted incrementally: one pass over the text
    for marker in _DOCUMENT_MARKER.finditer(padded):
        marker_start = marker.start(1)
        chunks.append(_Chunk(padded[start : marker.start()], start_line, shift))
        line += padded.count("\n", counted_to, marker_start)
        counted_to = marker_start
        start_line = line
        if marker.group(1) == "---":
            start, shift = marker.end(), 3
        else:  # "..." ends a document; whatever follows on its line is not content
            line_end = padded.find("\n", marker.end())
            start = len(padded) if line_end < 0 else line_end
            shift = 0
    chunks.append(_Chunk(padded[start:], start_line, shift))
    return chunks


# --------------------------------------------------------------------------------------
# Parsing


def _marked_error(error: yaml.MarkedYAMLError, file: str, chunk: _Chunk) -> InputError:
    mark = error.problem_mark or error.context_mark
    reason = error.problem or "invalid YAML"
    if error.context:
        reason = f"{reason} ({error.context})"
    if mark is None:
        return InputError(Location(file, chunk.first_line + 1), reason)
    column = mark.column + 1 + (chunk.column_shift if mark.line == 0 else 0)
    return InputError(Location(file, chunk.first_line + mark.line + 1, column), reason)


def _expanded_size(root: Node, limit: int, file: str, line: int) -> None:
    """Raise if aliases make ``root`` expand to more than ``limit`` nodes, or recurse.

    The composed graph shares aliased nodes, so its expanded size is computed bottom-up
    in time linear in the graph, without expanding anything.
    """
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        node_id = id(node)
        if isinstance(node, SequenceNode):
            children = node.value
        elif isinstance(node, MappingNode):
            children = [part for pair in node.value for part in pair]
        else:
            children = []
        if finished:
            on_path.discard(node_id)
            size = 1 + sum(sizes[id(child)] for child in children)
            if size > limit:
                raise InputError(
                    Location(file, line),
                    f"YAML aliases expand to more than {limit:,} nodes (a billion-laughs "
                    "style document); refusing to expand it",
                )
            sizes[node_id] = size
            continue
        if node_id in sizes:
            continue
        if node_id in on_path:
            raise InputError(Location(file, line), "recursive YAML alias (a node contains itself)")
        on_path.add(node_id)
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)


def _parse_exact(
    chunk: _Chunk, file: str, limits: ParseLimits, warnings: list[InputWarning]
) -> list[tuple[Any, int, Node]]:
    """Parse a chunk with go-yaml v2 semantics; returns (data, 0-based line, node) per document."""
    loader = _KubeLoader(chunk.text)
    documents = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            doc_line = chunk.first_line + node.start_mark.line
            if "*" in chunk.text:
                _expanded_size(node, limits.max_alias_nodes, file, doc_line + 1)
            data = loader.construct_document(node)
            documents.append((data, doc_line, node))
    except yaml.MarkedYAMLError as error:
        raise _marked_error(error, file, chunk) from None
    except yaml.YAMLError as error:
        raise InputError(Location(file, chunk.first_line + 1), str(error)) from None
    except RecursionError:
        raise InputError(
            Location(file, chunk.first_line + 1), "YAML nesting too deep to read safely"
        ) from None
    finally:
        loader.dispose()
    for key, mark in loader.duplicate_keys:
        warnings.append(
            InputWarning(
                Location(file, chunk.first_line + mark.line + 1, mark.column + 1),
                f"duplicate key {key!r}: the last value is used, as Kubernetes' decoder does",
            )
        )
    return documents


def _list_item_lines(node: Node, chunk_first_line: int) -> list[int] | None:
    """Lines of the items of a ``List`` document, from its composed node."""
    if not isinstance(node, MappingNode):
        return None
    for key_node, value_node in node.value:
        if getattr(key_node, "value", None) == "items" and isinstance(value_node, SequenceNode):
            return [chunk_first_line + item.start_mark.line + 1 for item in value_node.value]
    return None


def _is_list_document(data: Any) -> bool:
    return (
        isinstance(data, dict)
        and isinstance(data.get("kind"), str)
        and data["kind"].endswith("List")
        and isinstance(data.get("items"), list)
    )


def parse_yaml_stream(
    text: str, file: str, limits: ParseLimits, warnings: list[InputWarning]
) -> list[Document]:
    """Parse every document of a YAML stream (JSON is YAML too)."""
    if "\r" in text:  # a lone CR is a line break in YAML: count lines as the parsers do
        text = _LONE_CR.sub("\n", text)
    fast = _yaml_rs is not None and limits.use_fast_parser
    if _DIRECTIVE.search(text):  # %YAML/%TAG directives: let libyaml see the stream whole
        chunks = [_Chunk(text, 0, 0)]
        fast = False  # a stream of several documents, which the fast parser reads as one
    else:
        chunks = _split_documents(text)
    documents: list[Document] = []
    for chunk in chunks:
        content_line = _first_content_line(chunk.text)
        if content_line is None:
            continue  # blank or comments only: an empty document, as kubectl skips it
        data: Any = None
        parsed = False
        if fast and not needs_exact_path(chunk.text):
            try:
                data = _yaml_rs.loads(
                    chunk.text,
                    parse_datetime=False,
                    alias_limits=_yaml_rs.AliasLimits(
                        max_total_replayed_events=limits.max_alias_nodes
                    ),
                    duplicate_key_policy=_yaml_rs.DuplicateKeyPolicy.Error,
                )
                parsed = True
            except Exception:  # noqa: BLE001 - any refusal: the exact path explains it
                parsed = False
        if parsed:
            if data is None:
                continue
            item_lines = None
            if _is_list_document(data):
                item_lines = _exact_item_lines(chunk, file, limits)
            documents.append(Document(data, chunk.first_line + content_line + 1, item_lines))
            continue
        for data, doc_line, node in _parse_exact(chunk, file, limits, warnings):
            if data is None:
                continue
            item_lines = _list_item_lines(node, chunk.first_line) if _is_list_document(data) else None
            documents.append(Document(data, doc_line + 1, item_lines))
    return documents


def _exact_item_lines(chunk: _Chunk, file: str, limits: ParseLimits) -> list[int] | None:
    try:
        for _data, _line, node in _parse_exact(chunk, file, limits, []):
            return _list_item_lines(node, chunk.first_line)
    except InputError:
        return None
    return None


# --------------------------------------------------------------------------------------
# JSON


def _json_pairs_hook(warnings: list[InputWarning], file: str):
    def hook(pairs: list[tuple[str, Any]]) -> dict:
        result = dict(pairs)
        if len(result) != len(pairs):
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen:
                    warnings.append(
                        InputWarning(
                            Location(file),
                            f"duplicate key {key!r}: the last value is used, as Kubernetes' "
                            "decoder does",
                        )
                    )
                seen.add(key)
        return result

    return hook


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


_WS = re.compile(r"[ \t\n\r]*")


def _json_list_item_lines(text: str, start: int, decoder: json.JSONDecoder) -> list[int] | None:
    """Walk a top-level JSON object with the C scanner, noting where each ``items`` entry starts."""
    pos = _WS.match(text, start).end()
    if text[pos : pos + 1] != "{":
        return None
    pos += 1
    while True:
        pos = _WS.match(text, pos).end()
        if text[pos : pos + 1] == "}":
            return None
        key, pos = decoder.raw_decode(text, pos)
        pos = _WS.match(text, pos).end()
        if text[pos : pos + 1] != ":":
            return None
        pos = _WS.match(text, pos + 1).end()
        if key == "items" and text[pos : pos + 1] == "[":
            lines: list[int] = []
            pos += 1
            while True:
                pos = _WS.match(text, pos).end()
                if text[pos : pos + 1] == "]":
                    return lines
                lines.append(_line_of(text, pos))
                _, pos = decoder.raw_decode(text, pos)
                pos = _WS.match(text, pos).end()
                if text[pos : pos + 1] == ",":
                    pos += 1
        _, pos = decoder.raw_decode(text, pos)
        pos = _WS.match(text, pos).end()
        if text[pos : pos + 1] == ",":
            pos += 1


def parse_json_stream(text: str, file: str, warnings: list[InputWarning]) -> list[Document]:
    """Parse one JSON value, or several concatenated ones (as ``kubectl get -o json`` pipes)."""
    decoder = json.JSONDecoder(object_pairs_hook=_json_pairs_hook(warnings, file))
    documents: list[Document] = []
    pos = _WS.match(text, 0).end()
    while pos < len(text):
        try:
            data, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as error:
            raise InputError(Location(file, error.lineno, error.colno), error.msg) from None
        except RecursionError:
            raise InputError(Location(file, _line_of(text, pos)), "JSON nesting too deep") from None
        item_lines = None
        if _is_list_document(data):
            try:
                item_lines = _json_list_item_lines(text, pos, json.JSONDecoder())
            except (json.JSONDecodeError, RecursionError):
                item_lines = None
        documents.append(Document(data, _line_of(text, pos), item_lines))
        pos = _WS.match(text, end).end()
    return documents
