"""Hardened YAML and JSON parsing with Kubernetes' own scalar semantics.

Why this module exists rather than a bare ``yaml.safe_load``:

* **Kubernetes reads YAML 1.1.** ``kubectl`` and the API server decode YAML with a fork of
  go-yaml v2, where ``on``, ``yes`` and ``y`` are ``true`` and ``0644`` is octal. A scanner
  that reads ``privileged: on`` as the string ``"on"`` would pass a privileged container:
  a parser difference is a policy bypass. Every value here resolves as go-yaml v2 does
  (timestamps stay strings, as they do there; merge keys apply in go-yaml v2's order), and
  keys are strings as sigs.k8s.io/yaml makes them (``9000:`` and ``on:`` are ``"9000"`` and
  ``"true"``).
* **Speed.** Parsing dominates a Python scanner's run time. Documents go to ``yaml-rs`` (a
  Rust YAML 1.2 parser, several times faster than libyaml through PyYAML) unless cheap
  scans of the text find something it could read differently: YAML 1.1 scalars
  (``yes``/``no``/``on``/``off``/``y``/``n``, leading-zero integers), numbers past 64 bits,
  tags, merge keys, non-string or complex keys, aliases, tabs in indentation, characters
  YAML refuses. Those documents, and anything ``yaml-rs`` rejects, take the exact path:
  libyaml's C parser with go-yaml v2's resolution rules. Both paths give identical data
  (tested on generated scalars in many positions and on the conformance manifests).
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
import math
import re
import struct
from collections.abc import Iterator
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

    _READER_OFFSETS_IN_BYTES = True  # libyaml reports UTF-8 byte offsets
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    _READER_OFFSETS_IN_BYTES = False
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
_NULLS = {"", "~", "null", "Null", "NULL"}
_SPECIAL_FLOATS = {
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), -math.inf),
    **dict.fromkeys((".nan", ".NaN", ".NAN"), math.nan),
}
_INT64_MIN, _INT64_MAX, _UINT64_MAX = -(1 << 63), (1 << 63) - 1, (1 << 64) - 1
#: what Go's strconv.ParseInt/ParseUint accept in base 0, once go-yaml removed underscores
_GO_INT = re.compile(r"([-+]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)")
#: go-yaml v2's test for a float, applied after underscores are removed
_GO_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
#: what strconv.ParseFloat accepts of a scalar starting with "." (underscores are kept there)
_GO_DOT_FLOAT = re.compile(r"\.[0-9]+(?:[eE][-+]?[0-9]+)?")
#: a private tag for plain scalars starting with a digit, a sign or "." (numbers or strings)
_NUMBER_TAG = "tag:kube-auditor,2024:number"
_MERGE_TAG = "tag:yaml.org,2002:merge"


def go_number(text: str) -> int | float | str:
    """A plain scalar starting with a digit, sign or ``.``, resolved as go-yaml v2 does.

    Integers are what ``strconv.ParseInt(s, 0, 64)`` (then ``ParseUint``) accepts once every
    ``_`` is removed: ``0644`` is octal, ``0o``/``0x``/``0b`` prefixes work, values beyond 64
    bits are not integers. Then floats (``089`` is 89.0; an overflow to infinity is not a
    float). Anything else, and any scalar starting with ``.`` that ``ParseFloat`` refuses
    (underscores included), stays the string as written.
    """
    special = _SPECIAL_FLOATS.get(text)
    if special is not None:
        return special
    if text[:1] == ".":
        if _GO_DOT_FLOAT.fullmatch(text):
            value = float(text)
            if not math.isinf(value):
                return value
        return text
    plain = text.replace("_", "")
    match = _GO_INT.fullmatch(plain)
    if match:
        sign, body = match.groups()
        if body[0] == "0" and len(body) > 1 and body[1] in "01234567":
            number = int(body, 8)  # C-style octal, as strconv reads a leading zero
        else:
            number = int(body, 0)
        if sign == "-":
            number = -number
        if _INT64_MIN <= number <= _INT64_MAX or (not sign and number <= _UINT64_MAX):
            return number
    if _GO_FLOAT.fullmatch(plain):
        value = float(plain)
        if not math.isinf(value):
            return value
    return text


def go_resolve(text: str) -> Any:
    """Any plain scalar as go-yaml v2 resolves it (timestamps stay strings)."""
    if text in _BOOL_TRUE:
        return True
    if text in _BOOL_FALSE:
        return False
    if text in _NULLS:
        return None
    if text[:1] in _NUMBER_START:
        return go_number(text)
    return text


_NUMBER_START = frozenset("-+.0123456789")


def _go_float32_text(value: float) -> str:
    """A float map key as sigs.k8s.io/yaml writes it: ``strconv.FormatFloat(f, 'g', -1, 32)``
    (the shortest digits that read back as the same float32; exponent form below 1e-4 and
    from 1e6), with ``.inf``/``.nan`` for the special values."""
    try:
        single = struct.unpack("f", struct.pack("f", value))[0]
    except OverflowError:  # beyond float32: Go's conversion gives an infinity
        single = math.copysign(math.inf, value)
    if math.isnan(single):
        return ".nan"
    if math.isinf(single):
        return ".inf" if single > 0 else "-.inf"
    for digits in range(1, 10):
        text = f"{single:.{digits - 1}e}"
        if struct.unpack("f", struct.pack("f", float(text)))[0] == single:
            break
    mantissa, _, exponent_text = text.partition("e")
    exponent = int(exponent_text)
    if exponent < -4 or exponent >= 6:
        return f"{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
    return f"{single:.{max(digits - exponent - 1, 0)}f}"


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
_KubeResolver.add_implicit_resolver(_NUMBER_TAG, re.compile(r"^"), sorted(_NUMBER_START))
_KubeResolver.add_implicit_resolver(_MERGE_TAG, re.compile(r"^<<$"), ["<"])


class _KubeConstructor(SafeConstructor):
    """Builds plain JSON-compatible data, and records duplicate mapping keys."""

    def __init__(self) -> None:
        super().__init__()
        self.duplicate_keys: list[tuple[str, Any]] = []  # (key, mark)
        self._flattened: set[int] = set()  # mapping nodes whose merge keys are applied

    def construct_number(self, node: ScalarNode) -> int | float | str:
        return go_number(node.value)

    def _explicit(self, node: ScalarNode, tag: str, accepted: tuple[type, ...]) -> Any:
        """A scalar with an explicit ``!!bool``/``!!int``/``!!float`` tag: go-yaml resolves
        the text as if plain and refuses a value of another type (an int is a valid float)."""
        text = self.construct_scalar(node)
        value = go_resolve(text)
        if tag == "!!float" and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, accepted) and (tag == "!!bool" or not isinstance(value, bool)):
            return value
        found = {bool: "!!bool", int: "!!int", float: "!!float", str: "!!str"}.get(
            type(value), "!!null"
        )
        raise ConstructorError(
            None, None, f"cannot decode {found} `{text}` as a {tag}", node.start_mark
        )

    def construct_yaml_bool(self, node: ScalarNode) -> bool:
        return self._explicit(node, "!!bool", (bool,))

    def construct_yaml_int(self, node: ScalarNode) -> int:
        return self._explicit(node, "!!int", (int,))

    def construct_yaml_float(self, node: ScalarNode) -> float:
        return self._explicit(node, "!!float", (float,))

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

    def flatten_mapping(self, node: MappingNode) -> None:
        """Apply merge keys (``<<``) as go-yaml v2 does, and note duplicate keys.

        go-yaml v2 reads a mapping's pairs in order and a merge writes the merged keys over
        the ones set before it; keys written after a merge override it, and in a list of
        merged mappings the earlier ones win. (PyYAML's own rule, where explicit keys always
        win, would read ``{privileged: false, <<: *p}`` differently from Kubernetes.)
        """
        if id(node) in self._flattened:
            return
        self._flattened.add(id(node))
        seen: set[Any] = set()
        merged = False
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                merged = True
            elif isinstance(key_node, ScalarNode):
                if key_node.value in seen:
                    self.duplicate_keys.append((key_node.value, key_node.start_mark))
                seen.add(key_node.value)
        if not merged:
            return
        pairs = []
        for key_node, value_node in node.value:
            if key_node.tag != _MERGE_TAG:
                pairs.append((key_node, value_node))
                continue
            if isinstance(value_node, MappingNode):
                sources = [value_node]
            elif isinstance(value_node, SequenceNode):
                sources = value_node.value[::-1]  # applied last to first: the first one wins
            else:
                sources = [None]
            for source in sources:
                if not isinstance(source, MappingNode):
                    raise ConstructorError(
                        "while constructing a mapping", node.start_mark,
                        "map merge requires map or sequence of maps as the value",
                        value_node.start_mark,
                    )
                self.flatten_mapping(source)
                pairs.extend(source.value)
        node.value = pairs

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict:
        """A dict with string keys, as sigs.k8s.io/yaml turns YAML into JSON: ``true`` and
        ``1`` keys become ``"true"`` and ``"1"``; a null key is an error, as there."""
        if not isinstance(node, MappingNode):
            raise ConstructorError(
                None, None, f"expected a mapping node, but found {node.id}", node.start_mark
            )
        self.flatten_mapping(node)
        mapping: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            if type(key) is not str:
                key = self._json_key(key, key_node)
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping

    @staticmethod
    def _json_key(key: Any, key_node: Node) -> str:
        if isinstance(key, bool):
            return "true" if key else "false"
        if isinstance(key, int):
            return str(key)
        if isinstance(key, float):
            return _go_float32_text(key)
        what = "null" if key is None else f"a {key_node.id}"
        raise ConstructorError(
            "while constructing a mapping", None,
            f"a mapping key is {what}, which Kubernetes cannot decode", key_node.start_mark,
        )


for _tag in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:str"):
    _KubeConstructor.add_constructor(_tag, SafeConstructor.construct_scalar)
_KubeConstructor.add_constructor("tag:yaml.org,2002:bool", _KubeConstructor.construct_yaml_bool)
_KubeConstructor.add_constructor("tag:yaml.org,2002:int", _KubeConstructor.construct_yaml_int)
_KubeConstructor.add_constructor("tag:yaml.org,2002:float", _KubeConstructor.construct_yaml_float)
_KubeConstructor.add_constructor(_NUMBER_TAG, _KubeConstructor.construct_number)
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
# ": " (or a colon right after a quoted key, as in JSON), "[" "{" "," "?" or "- ". Anchors
# and tags may precede the scalar.
_NODE_START = (
    r"(?:^[ \t]*(?:-[ \t]+)*|:[ \t]+|[\"']:[ \t]*|[\[{,?][ \t]*|-[ \t]+)(?:[&!][^\s]*[ \t]+)*"
)
_DIFFERING_SCALAR = (
    # YAML 1.1 booleans and C-style octals (and "089", a float there)
    r"(?:[yYnN]|yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF"
    r"|[-+]?0[0-9_]+(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?"
    # numbers beyond 64 bits or float64, which go-yaml does not read as yaml-rs does
    r"|[-+]?[0-9][0-9_]{18,}(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?0[xXoObB][0-9a-fA-F_]{16,}"
    r"|[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]{3,}"
    # underscores where go-yaml keeps a string and yaml-rs drops them to read a number
    r"|_[0-9a-fA-FxXoO_.+-]*|\.[0-9_]*_[0-9a-fA-F_eE+-]*"
    r"|<<)"  # a merge key (YAML 1.1 only), wherever it stands
)
_SCALAR_END = r"(?=[ \t]*(?:[:,\]}#\r\n]|$))"
# Keys that are not strings in YAML 1.2 either: sigs.k8s.io/yaml turns them into strings
# ("true", "1") or refuses them (null, collections).
_NON_STRING_KEY = (
    r"(?:(?:[tT]rue|TRUE|[fF]alse|FALSE|[nN]ull|NULL|~|[-+.0-9][0-9A-Za-z_.+-]*)[ \t]*)?"
    r":(?=[ \t\r\n]|$)"
)
_NEEDS_EXACT_PATH = re.compile(
    _NODE_START + _DIFFERING_SCALAR + _SCALAR_END
    + r"|" + _NODE_START + _NON_STRING_KEY
    + r"|(?:^[ \t]*(?:-[ \t]+)*|[\[{,][ \t]*)\?(?=[ \t\r\n]|$)"  # an explicit "? key"
    + r"|[\]}][ \t]*:(?=[ \t\r\n]|$)"  # a flow collection as a key
    + r"|(?:^|[\s:\[{,-])!",  # an explicit tag
    re.M,
)
# A marker is "---" or "..." at the start of a line; the leading newline (or the start of
# the text) is matched too, as a literal prefix makes the search several times faster.
_DOCUMENT_MARKER = re.compile(r"\n(---|\.\.\.)(?=[ \t\r\n]|\Z)")
_DIRECTIVE = re.compile(r"^%", re.M)
_MARKER_WITH_CONTENT = re.compile(r"^(?:---|\.\.\.)[ \t]*\S", re.M)
_LONE_CR = re.compile(r"\r(?!\n)")
# What YAML readers refuse: control characters other than tab and line breaks (C0, DEL and
# C1), surrogates and the non-characters U+FFFE and U+FFFF; and NEL, LS and PS, line breaks
# in YAML 1.1 only.
_PRINTABLE_ASCII = b"\t\n\r" + bytes(range(0x20, 0x7F))
_NON_PRINTABLE_OR_BREAK = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]"
)
_CONTENT_LINE = re.compile(r"^[ \t]*[^\s#]", re.M)


# Cheap pre-filters: together a superset of the places the exact pattern can match. Python's
# regex engine is fast only where a pattern starts with a literal or a set of rare
# characters, so each pre-filter does; a candidate's line is then checked with the exact
# pattern (a full-text search with it is several times slower).
#
# Words and leading-zero numbers: each branch starts with a literal and then looks back to
# discard a token that continues a longer word ("region", "policy").
_CANDIDATE = re.compile(
    r"(?:y(?<![\w.]y)(?:es)?|Y(?<![\w.]Y)(?:es|ES)?|n(?<![\w.]n)o?|N(?<![\w.]N)[oO]?"
    r"|o(?<![\w.]o)(?:n|ff)|O(?<![\w.]O)(?:n|N|ff|FF)|0(?<![\w.]0)[0-9_]*"
    r"|!|<|\?|\]|\})"  # tags, merge keys, "? key", a flow collection as a key
    r"(?:(?<=[!<?\]}])|(?![\w.-]))"  # (one group: a top-level "|" defeats the skipping)
)
# Keys that are not strings in YAML 1.2 either (true, null, ~, numbers, an empty key), or
# are spaced from their colon: every branch starts with the colon that ends the key.
_KEY_CANDIDATE = re.compile(
    r":(?:(?<=[0-9._~\s{,?]:)"
    r"|(?<=ue:|UE:|se:|SE:|ll:|LL:|nf:|NF:|an:|aN:|AN:)"  # a quick test of the last two
    r"(?:(?<=rue:)|(?<=RUE:)|(?<=alse:)|(?<=ALSE:)|(?<=ull:)|(?<=ULL:)"
    r"|(?<=inf:)|(?<=Inf:)|(?<=INF:)|(?<=nan:)|(?<=NaN:)|(?<=NAN:)))"
    r"(?=[ \t\r\n]|\Z)"
)
# Hexadecimal keys that end in a letter ("0x1F:"), looked for only where "0x" occurs.
_HEX_KEY_CANDIDATE = re.compile(r"0[xX][0-9a-fA-F_]*[ \t]*:(?=[ \t\r\n]|\Z)")
# Underscores next to digits or dots ("_1", ".5_0"), which yaml-rs drops to read a number.
_UNDERSCORE_CANDIDATE = re.compile(r"_(?:(?=[0-9_.])|(?<=[0-9._]_))")
# Numbers too long for 64 bits or float64: a run of 19 digits (dots and underscores count
# too), or a number with a 3-digit exponent ("ee" where its sign is "+"), found with bytes
# operations as no regex finds them fast; and 0x/0o/0b numbers with 16 digits or more.
_TO_ZEROS = bytes.maketrans(b"123456789_.E+", b"00000000000ee")
_LONG_PREFIXED = re.compile(r"0[xXoObB][0-9a-fA-F_]{16}")


_LONG_NUMBER_NEEDLES = (b"0000000000000000000", b"0e000", b"0ee000")


def _long_number_offsets(text: str) -> list[int] | None:
    """Offsets of possible too-long numbers, for a line-by-line check; None when the text
    is not ASCII (byte and character offsets differ: the caller checks the whole text)."""
    if not text.isascii():
        return None
    zeros = text.encode("ascii").translate(_TO_ZEROS)
    offsets = []
    for needle in _LONG_NUMBER_NEEDLES:
        at = zeros.find(needle)
        while at >= 0:
            offsets.append(at)
            at = zeros.find(needle, zeros.find(b"\n", at) + 1 or len(zeros))  # next line
    if "0x" in text or "0X" in text:
        offsets.extend(m.start() for m in _LONG_PREFIXED.finditer(text))
    return sorted(offsets)


def _has_long_number(text: str) -> bool:
    zeros = text.encode("utf-8", "surrogatepass").translate(_TO_ZEROS)
    if any(needle in zeros for needle in _LONG_NUMBER_NEEDLES):
        return True
    return ("0x" in text or "0X" in text) and _LONG_PREFIXED.search(text) is not None


def _long_number_needs_exact_path(text: str) -> bool:
    """Whether a number too long for 64 bits sits where a plain scalar is read; only the
    lines holding one are searched (a whole-text search costs seconds on large files)."""
    offsets = _long_number_offsets(text)
    if offsets is None:
        return _has_long_number(text) and _NEEDS_EXACT_PATH.search(text) is not None
    checked_to = -1
    for start in offsets:
        if start < checked_to:
            continue
        line_start = text.rfind("\n", 0, start) + 1
        line_end = text.find("\n", start)
        checked_to = len(text) if line_end < 0 else line_end
        if _NEEDS_EXACT_PATH.search(text, line_start, checked_to):
            return True
    return False


# An alias ("*name") of an anchor of the document. The fast parser reads an alias of a node
# that contains it ("&a [*a]") as null, and counts expansion differently, so documents
# that use aliases take the exact path, which refuses both recursion and alias bombs.
_ALIAS = re.compile(r"\*([^\s,\[\]{}]+)")


# A tab among the indentation and indicators that start a line ("-\tx", a tab-only line):
# libyaml and go-yaml refuse it where the fast parser accepts it.
_TAB_IN_INDENTATION = re.compile(r"^[ ?:-]*\t", re.M)


# A flow collection where a flow mapping expects a key ("{{ include ... }}" in a Helm
# template, "{[1]: 2}"): Kubernetes refuses non-scalar keys; the fast parser makes Python
# tuples of them. Also matches nested flow sequences ("[[1], [2]]"), which only costs speed.
_FLOW_COLLECTION_KEY = re.compile(r"[{,][ \t]*[{\[]")


def _uses_aliases(text: str) -> bool:
    return any("&" + match.group(1) in text for match in _ALIAS.finditer(text))


def _holds_null(value: Any) -> bool:
    """Whether a parsed document holds a null anywhere (an iterative walk: no recursion)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if item is None:
            return True
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _fast_read_is_trustworthy(text: str, data: Any) -> bool:
    """The fast parser reads an alias of a node that is still open (``&a [*a]``, a
    recursive alias, which Kubernetes' decoder refuses) as null; so a document that uses
    aliases and came out holding a null is read again by the exact path, which refuses the
    recursion or confirms the nulls. Documents without aliases, the usual case, are not
    walked."""
    return not ("*" in text and "&" in text and _uses_aliases(text) and _holds_null(data))


def _verified(candidates: Iterator[re.Match[str]], text: str) -> bool:
    """Whether the exact pattern matches on the line of any candidate."""
    checked_to = -1
    for candidate in candidates:
        start = candidate.start()
        if start < checked_to:
            continue  # its line was checked already
        line_start = text.rfind("\n", 0, start) + 1
        line_end = text.find("\n", candidate.end())
        checked_to = len(text) if line_end < 0 else line_end
        if _NEEDS_EXACT_PATH.search(text, line_start, checked_to):
            return True
    return False


def needs_exact_path(text: str) -> bool:
    """True when a YAML 1.2 parser could read ``text`` differently from Kubernetes.

    Cheap candidate searches first; each candidate's line is then checked with the exact
    pattern (a full-text search with it is several times slower).
    """
    return (
        _verified(_CANDIDATE.finditer(text), text)
        or _verified(_KEY_CANDIDATE.finditer(text), text)
        or ("_" in text and _verified(_UNDERSCORE_CANDIDATE.finditer(text), text))
        or (
            ("0x" in text or "0X" in text)
            and _verified(_HEX_KEY_CANDIDATE.finditer(text), text)
        )
        or _long_number_needs_exact_path(text)
        or ("\t" in text and _TAB_IN_INDENTATION.search(text) is not None)
        or ("{" in text and _FLOW_COLLECTION_KEY.search(text) is not None)
    )


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


def _reader_error(error: yaml.reader.ReaderError, file: str, chunk: _Chunk) -> InputError:
    """A character YAML does not allow (control characters): its file line and column."""
    position = error.position
    if _READER_OFFSETS_IN_BYTES:
        position = len(chunk.text.encode("utf-8")[:position].decode("utf-8", "ignore"))
    line_start = chunk.text.rfind("\n", 0, position) + 1
    line = chunk.text.count("\n", 0, position)
    column = position - line_start + 1 + (chunk.column_shift if line == 0 else 0)
    character = error.character if isinstance(error.character, int) else ord(error.character)
    return InputError(
        Location(file, chunk.first_line + line + 1, column),
        f"character U+{character:04X} is not allowed in YAML ({error.reason})",
    )


def _needs_exact_reader(text: str) -> bool:
    """Characters the fast parser reads otherwise than Kubernetes' decoder (a libyaml port):
    the ones YAML refuses, which the fast parser accepts, and the YAML 1.1 line breaks NEL,
    LS and PS, which it reads as ordinary characters."""
    if text.isascii():
        return bool(text.encode("ascii").translate(None, _PRINTABLE_ASCII))
    return _NON_PRINTABLE_OR_BREAK.search(text) is not None


def _expanded_size(root: Node, limit: int, file: str, first_line: int) -> None:
    """Raise if aliases make ``root`` expand to more than ``limit`` nodes, or recurse.

    The composed graph shares aliased nodes, so its expanded size is computed bottom-up
    in time linear in the graph, without expanding anything. The error names the line of
    the first node found too large, or of the node that contains itself (``first_line`` is
    the 0-based file line of the parsed text's first line).
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
                    Location(file, first_line + node.start_mark.line + 1),
                    f"YAML aliases expand to more than {limit:,} nodes (a billion-laughs "
                    "style document); refusing to expand it",
                )
            sizes[node_id] = size
            continue
        if node_id in sizes:
            continue
        if node_id in on_path:
            raise InputError(
                Location(file, first_line + node.start_mark.line + 1),
                "recursive YAML alias (a node contains itself)",
            )
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
                _expanded_size(node, limits.max_alias_nodes, file, chunk.first_line)
            data = loader.construct_document(node)
            documents.append((data, doc_line, node))
    except yaml.MarkedYAMLError as error:
        raise _marked_error(error, file, chunk) from None
    except yaml.reader.ReaderError as error:
        raise _reader_error(error, file, chunk) from None
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


def _fast_alias_limits(limits: ParseLimits) -> Any:
    return _yaml_rs.AliasLimits(max_total_replayed_events=limits.max_alias_nodes)


def parse_fast(text: str, limits: ParseLimits, alias_limits: Any = None) -> Any:
    """One document with the fast parser, whatever the text (tests compare it with the exact
    path; the loader uses it only where :func:`needs_exact_path` is false)."""
    return _yaml_rs.loads(
        text,
        parse_datetime=False,
        alias_limits=alias_limits or _fast_alias_limits(limits),
        duplicate_key_policy=_yaml_rs.DuplicateKeyPolicy.Error,
    )


def parse_yaml_stream(
    text: str, file: str, limits: ParseLimits, warnings: list[InputWarning]
) -> list[Document]:
    """Parse every document of a YAML stream (JSON is YAML too)."""
    if "\r" in text:  # a lone CR is a line break in YAML: count lines as the parsers do
        text = _LONE_CR.sub("\n", text)
    fast = _yaml_rs is not None and limits.use_fast_parser and not _needs_exact_reader(text)
    if _DIRECTIVE.search(text):  # %YAML/%TAG directives: let libyaml see the stream whole
        chunks = [_Chunk(text, 0, 0)]
        fast = False  # a stream of several documents, which the fast parser reads as one
    else:
        chunks = _split_documents(text)
    alias_limits = _fast_alias_limits(limits) if fast else None
    # The detector works line by line, and a document's lines are the stream's lines (only
    # a "--- content" marker line differs): one pass over a clean stream clears every
    # document in it, instead of one pass per document.
    clean_stream = fast and not _MARKER_WITH_CONTENT.search(text) and not needs_exact_path(text)
    documents: list[Document] = []
    for chunk in chunks:
        content_line = _first_content_line(chunk.text)
        if content_line is None:
            continue  # blank or comments only: an empty document, as kubectl skips it
        data: Any = None
        parsed = False
        if fast and (clean_stream or not needs_exact_path(chunk.text)):
            try:
                data = parse_fast(chunk.text, limits, alias_limits)
                parsed = _fast_read_is_trustworthy(chunk.text, data)
            except Exception:  # noqa: BLE001 - any refusal: the exact path explains it
                parsed = False
        if parsed:
            if data is None:
                continue
            item_lines = None
            if _is_list_document(data):
                item_lines = _block_item_lines(chunk, len(data["items"]))
                if item_lines is None:
                    item_lines = _exact_item_lines(chunk, file, limits)
            documents.append(Document(data, chunk.first_line + content_line + 1, item_lines))
            continue
        for data, doc_line, node in _parse_exact(chunk, file, limits, warnings):
            if data is None:
                continue
            item_lines = _list_item_lines(node, chunk.first_line) if _is_list_document(data) else None
            documents.append(Document(data, doc_line + 1, item_lines))
    return documents


_ITEMS_KEY = re.compile(r"^items[ \t]*:[ \t]*(?:#[^\n]*)?\r?$", re.M)


def _block_item_lines(chunk: _Chunk, count: int) -> list[int] | None:
    """Lines of a ``List``'s items written as a block sequence under a top-level ``items:``
    key, as kubectl and YAML dumpers write them, read from the text: a List of thousands of
    objects need not be parsed twice. ``None`` unless exactly ``count`` items are found
    (then the exact parser's node positions are used)."""
    text = chunk.text
    key = _ITEMS_KEY.search(text)
    if key is None or count == 0:
        return None
    line = text.count("\n", 0, key.start()) + 1  # 0-based line of the first line after it
    lines: list[int] = []
    indent = -1
    pending = False  # an entry whose item starts on a later line ("-" alone, or a comment)
    for raw in text[key.end() + 1 :].split("\n"):
        content = raw.lstrip(" ")
        if content and content[0] != "#" and content != "\r":
            at = len(raw) - len(content)
            entry = content[0] == "-" and content[1:2] in ("", " ", "\r")
            if indent < 0:
                if not entry:
                    return None  # not a block sequence
                indent = at
            if at == indent and entry:
                if pending:
                    return None  # an empty item
                rest = content[1:].strip()
                pending = not rest or rest[0] == "#"
                if not pending:
                    lines.append(chunk.first_line + line + 1)
            elif at <= indent:
                break  # the next key of the List: the sequence ended
            elif pending:
                lines.append(chunk.first_line + line + 1)
                pending = False
        line += 1
    return lines if len(lines) == count and not pending else None


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


class _NotJSON(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    """Python's decoder reads NaN and Infinity, which JSON (and Kubernetes) does not have."""
    raise _NotJSON(f"{name} is not a JSON value")


def parse_json_stream(text: str, file: str, warnings: list[InputWarning]) -> list[Document]:
    """Parse one JSON value, or several concatenated ones (as ``kubectl get -o json`` pipes)."""
    decoder = json.JSONDecoder(
        object_pairs_hook=_json_pairs_hook(warnings, file), parse_constant=_refuse_constant
    )
    documents: list[Document] = []
    pos = _WS.match(text, 0).end()
    while pos < len(text):
        try:
            data, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as error:
            raise InputError(Location(file, error.lineno, error.colno), error.msg) from None
        except _NotJSON as error:
            raise InputError(Location(file, _line_of(text, pos)), str(error)) from None
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
