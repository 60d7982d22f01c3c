"""Rule packs: the pydantic schema of a rule, and loading packs with precise errors.

A pack is a YAML file::

    apiVersion: kube-auditor.io/v1
    kind: RulePack
    metadata: {name: container, description: ...}
    rules: [ ... ]

Every rule is validated on load; a broken pack raises :class:`RulePackError` whose message
names the file, the line, the rule id and the field at fault.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from ..analysis.registry import all_analyzers, get_analyzer
from ..inventory import CONTAINER_FIELDS
from ..threat import Framework, Layer, Severity, Stride
from .conditions import (
    Condition,
    PathCondition,
    TargetKind,
    iter_path_conditions,
    path_root,
    root_unavailable,
)

#: a pydantic model read from a configuration file
ModelT = TypeVar("ModelT", bound=BaseModel)

RULE_ID = re.compile(r"^[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+$")
#: ``{name}`` or ``{name:argument}`` in a message template (other braces are literal text).
MESSAGE_PLACEHOLDER = re.compile(r"\{([A-Za-z_]\w*)(?::([^}]*))?\}")
_PLACEHOLDER_LIST = "{container}, {container_type}, {kind}, {name}, {namespace} and {value:PATH}"
PACK_API_VERSION = "kube-auditor.io/v1"


class RulePackError(Exception):
    """A rule pack that cannot be used; the message is one line: file:line: rule: field: why."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


_FIELD_ERROR = "field_error"


def field_error(field: str, reason: str) -> PydanticCustomError:
    """An error about ``field`` below the model being validated (its location goes in the
    message: pydantic gives model-level validators no way to point deeper)."""
    return PydanticCustomError(_FIELD_ERROR, "{field}: {reason}", {"field": field, "reason": reason})


def describe_error(error: ValidationError) -> tuple[str, str]:
    """The first error of a validation as (field path, reason), for one-line messages."""
    first = error.errors()[0]
    field = _format_loc(first["loc"])
    reason = first["msg"].removeprefix("Value error, ")
    if first["type"] == _FIELD_ERROR:
        sub, reason = first["ctx"]["field"], first["ctx"]["reason"]
        field = f"{field}{sub}" if sub.startswith("[") else f"{field}.{sub}" if field else sub
    return field, reason


class Match(_Strict):
    """Which objects (and which of their containers) a rule looks at."""

    kinds: list[str] | None = None  #: None: every kind that has the rule's target
    exclude_kinds: list[str] = Field(default_factory=list, alias="excludeKinds")
    namespaces: list[str] | None = None
    exclude_namespaces: list[str] = Field(default_factory=list, alias="excludeNamespaces")
    labels: dict[str, str] = Field(default_factory=dict)
    containers: list[Literal["containers", "initContainers", "ephemeralContainers"]] = Field(
        default_factory=lambda: list(CONTAINER_FIELDS)
    )


class AnalyzerCheck(_Strict):
    """``check: {analyzer: NAME, params: {...}}``: a registered Python analyzer."""

    analyzer: str
    params: dict[str, Any] = Field(default_factory=dict)
    _parsed: Any = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _known_analyzer(self) -> AnalyzerCheck:
        spec = get_analyzer(self.analyzer)
        if spec is None:
            known = ", ".join(sorted(all_analyzers()))
            raise field_error("analyzer", f"unknown analyzer {self.analyzer!r}; known: {known}")
        try:
            self._parsed = spec.params.model_validate(self.params)
        except ValidationError as error:
            first = error.errors()[0]
            where = _format_loc(first["loc"])
            raise field_error(f"params.{where}" if where else "params", first["msg"]) from None
        return self

    @property
    def parsed_params(self) -> Any:
        return self._parsed


def _check_tag(value: Any) -> str:
    if isinstance(value, AnalyzerCheck) or (isinstance(value, dict) and "analyzer" in value):
        return "analyzer"
    return "condition"


Check = Annotated[
    Annotated[AnalyzerCheck, Tag("analyzer")] | Annotated[Condition, Tag("condition")],
    Discriminator(_check_tag),
]


class Rule(_Strict):
    """One rule: identity, threat-model tags, what it looks at, its check, risk and fix."""

    id: str
    title: str = Field(min_length=1)
    severity: Severity
    stride: list[Stride] = Field(min_length=1)
    layer: Layer
    #: framework name (``cis``, ``nsa``, ``mitre``) → ids; keys are validated as
    #: :class:`Framework` and stored as plain strings, the form every output writes
    frameworks: dict[str, list[str]] = Field(default_factory=dict)
    target: TargetKind = "object"
    match: Match = Field(default_factory=Match)
    when: Condition | None = None
    check: Check
    message: str | None = None
    risk: str = Field(min_length=1)
    remediation: str = Field(min_length=1)
    #: pack the rule came from (set on load, not written in packs)
    pack: str = Field(default="", exclude=True)

    @field_validator("frameworks")
    @classmethod
    def _known_frameworks(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        known = [f.value for f in Framework]
        for name in value:
            if name not in known:
                raise ValueError(f"unknown framework {name!r}; use {', '.join(known)}")
        return {Framework(name).value: list(ids) for name, ids in value.items()}

    @field_validator("id")
    @classmethod
    def _id_format(cls, value: str) -> str:
        if not RULE_ID.match(value):
            raise ValueError("rule ids look like PREFIX-GROUP-123 (upper case, dash-separated)")
        return value

    @property
    def is_analyzer(self) -> bool:
        return isinstance(self.check, AnalyzerCheck)

    @model_validator(mode="after")
    def _analyzer_target(self) -> Rule:
        if self.is_analyzer and (self.target != "object" or self.when is not None):
            field = "target" if self.target != "object" else "when"
            raise field_error(field, "analyzer rules take neither 'target' nor 'when'")
        return self

    @model_validator(mode="after")
    def _message_renders(self) -> Rule:
        # The evaluator compiles templates when a scan starts; check them here so that a
        # typo fails at load with the rule and field, not mid-scan or in the report.
        if self.message is None:
            return self
        if self.is_analyzer:
            raise field_error("message", "analyzer rules take no message: the analyzer writes each finding's")
        for found in MESSAGE_PLACEHOLDER.finditer(self.message):
            name, argument = found.groups()
            if name == "value" and argument is not None:
                try:
                    PathCondition(path=argument, exists=True)
                except ValidationError as error:
                    raise field_error("message", f"{found.group(0)}: {describe_error(error)[1]}") from None
                why = root_unavailable(path_root(argument), self.target)
                if why:
                    raise field_error("message", f"{found.group(0)}: {why}")
            elif argument is None and name in ("container", "container_type"):
                if self.target != "container":
                    raise field_error(
                        "message", f"{{{name}}} is only available to rules with target container"
                    )
            elif argument is not None or name not in ("kind", "name", "namespace"):
                raise field_error(
                    "message",
                    f"unknown placeholder {found.group(0)}; placeholders are {_PLACEHOLDER_LIST}",
                )
        return self

    @model_validator(mode="after")
    def _roots_fit_target(self) -> Rule:
        # A root the target lacks never has a value: the rule would silently never fire
        # (or, under 'not', always fire).
        for name in ("when", "check"):
            condition = getattr(self, name)
            if condition is None or isinstance(condition, AnalyzerCheck):
                continue
            for where, path_condition in iter_path_conditions(condition, name):
                why = root_unavailable(path_root(path_condition.path), self.target)
                if why:
                    raise field_error(f"{where}.path", why)
        return self


class PackMetadata(_Strict):
    name: str
    description: str = ""


class RulePackHeader(_Strict):
    api_version: Literal["kube-auditor.io/v1"] = Field(alias="apiVersion")
    kind: Literal["RulePack"]
    metadata: PackMetadata
    rules: list[Any]


class RulePack(BaseModel):
    name: str
    description: str
    file: str
    rules: list[Rule]
    #: rule id → 1-based line of the rule in ``file`` (for messages)
    lines: dict[str, int] = Field(default_factory=dict)


_CONDITION_TAGS = {"all", "any", "not", "path"}
_CONDITION_FIELDS = {"when", "not", "some", "every"}


def _format_loc(loc: tuple[Any, ...]) -> str:
    """A pydantic error location as a field path, without discriminated-union tags.

    ``('check', 'condition', 'all', 'all', 0, 'path', 'matches')`` → ``check.all[0].matches``.
    """
    parts: list[str] = []
    expect_condition = False
    previous: Any = None
    for item in loc:
        if previous == "check" and item in ("condition", "analyzer"):
            expect_condition = item == "condition"
            previous = item
            continue
        if expect_condition and item in _CONDITION_TAGS:
            expect_condition = False
            previous = None
            continue
        expect_condition = False
        if item == "[key]":  # pydantic's marker for a bad mapping key: the key is already named
            continue
        parts.append(f"[{item}]" if isinstance(item, int) else ("." if parts else "") + str(item))
        if item in _CONDITION_FIELDS or (isinstance(item, int) and previous in ("all", "any")):
            expect_condition = True
        previous = item
    return "".join(parts)


_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available


class PackLoader(_SafeLoader):  # type: ignore[misc,valid-type]
    """PyYAML's safe loader (libyaml's C parser when present), keeping timestamps as strings.

    The stock loader builds ``date`` objects itself and raises a bare ValueError (no file,
    no line) for an impossible date such as ``2025-02-30``; as strings, dates are parsed
    by pydantic where a date is expected, with the field in the error.
    """


PackLoader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_yaml_str)


def node_line(root: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the deepest node of ``root`` that a pydantic location reaches."""
    node, line = root, None
    for item in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if getattr(k, "value", None) == str(item)), None)
            if match is None:
                continue  # a union tag or a missing field: stay here
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(item, int) and 0 <= item < len(node.value):
            node = node.value[item]
            line = node.start_mark.line + 1
    if line is None and root is not None:
        line = root.start_mark.line + 1
    return line


def read_yaml_file(path: Path, error: type[Exception]) -> tuple[str, Any]:
    """The text and data of a YAML file we are configured with (rule packs, config files);
    any problem raises ``error`` with one line naming the file (and line and column)."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
        return text, yaml.load(text, Loader=PackLoader)  # noqa: S506 - a safe loader
    except OSError as problem:
        raise error(f"{name}: {problem.strerror or problem}") from None
    except UnicodeDecodeError:
        raise error(f"{name}: not UTF-8 text") from None
    except yaml.MarkedYAMLError as problem:
        mark = problem.problem_mark
        where = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark else name
        raise error(f"{where}: {problem.problem}") from None
    except yaml.YAMLError as problem:
        raise error(f"{name}: {problem}") from None


def load_model_file(
    path: Path, model: type[ModelT], error: type[Exception], kind: str, keys: str, whole: str
) -> ModelT:
    """A YAML configuration file validated as ``model``. Every problem is one line raising
    ``error``: the file, the line when known, the field and why. ``kind`` says what the file
    is (``config file``), ``keys`` what it holds (``rules, waivers, ...``) and ``whole`` is
    the field named when the problem is the file as a whole. An empty file is the model's
    defaults."""
    name = str(path)
    text, data = read_yaml_file(path, error)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise error(f"{name}: not a mapping: a {kind} is a mapping ({keys})")
    root = compose_yaml(text)
    duplicate = find_duplicate_key(root)
    if duplicate is not None:
        parts, line, first = duplicate
        raise error(f"{name}:{line}: {format_field(parts)}: duplicate key (first at line {first})")
    try:
        return model.model_validate(data)
    except ValidationError as problem:
        field, message = describe_error(problem)
        line = node_line(root, problem.errors()[0]["loc"])
        where = f"{name}:{line}" if line else name
        raise error(f"{where}: {field or whole}: {message}") from None


def compose_yaml(text: str) -> yaml.Node | None:
    """The node tree of a YAML text (for line numbers), or None when it has none."""
    try:
        return yaml.compose(text, Loader=PackLoader)
    except yaml.YAMLError:
        return None


def _rule_lines(root: yaml.Node | None) -> list[int]:
    """1-based line of each entry of the top-level ``rules`` list (best effort)."""
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if getattr(key, "value", None) == "rules" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


_MERGE_TAG = "tag:yaml.org,2002:merge"


def find_duplicate_key(node: yaml.Node | None) -> tuple[list[str | int], int, int] | None:
    """The first mapping key written twice, in document order: (path to it, its line, the
    first one's line). YAML loaders keep the last value silently, which would drop half of a
    rule without a word."""
    visited: set[int] = set()

    def walk(node: yaml.Node) -> tuple[list[str | int], int, int] | None:
        if id(node) in visited:  # aliases share nodes (and may be recursive)
            return None
        visited.add(id(node))
        if isinstance(node, yaml.MappingNode):
            seen: dict[tuple[str, str], int] = {}
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.tag != _MERGE_TAG:
                    identity = (key.tag, key.value)
                    if identity in seen:
                        return [key.value], key.start_mark.line + 1, seen[identity]
                    seen[identity] = key.start_mark.line + 1
                found = walk(value)
                if found:
                    return [getattr(key, "value", "?"), *found[0]], found[1], found[2]
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                found = walk(item)
                if found:
                    return [index, *found[0]], found[1], found[2]
        return None

    return walk(node) if node is not None else None


def format_field(parts: list[str | int]) -> str:
    """``['check', 'all', 0, 'path']`` → ``check.all[0].path``."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _duplicate_key_error(name: str, root: yaml.Node | None, data: Any) -> RulePackError | None:
    found = find_duplicate_key(root)
    if found is None:
        return None
    parts, line, first = found
    where = f"{name}:{line}"
    if len(parts) > 2 and parts[0] == "rules" and isinstance(parts[1], int):
        raw = data["rules"][parts[1]] if isinstance(data, dict) else None
        rule_id = raw.get("id") if isinstance(raw, dict) else None
        where += f": rule {rule_id if isinstance(rule_id, str) else f'rules[{parts[1]}]'}"
        parts = parts[2:]
    return RulePackError(f"{where}: {format_field(parts)}: duplicate key (first at line {first})")


_PACK_SHAPE = "a rule pack is a mapping with apiVersion: kube-auditor.io/v1, kind: RulePack, metadata and rules"


def load_pack(path: Path) -> RulePack:
    """Load and validate one rule pack file."""
    name = str(path)
    text, data = read_yaml_file(path, RulePackError)
    if not isinstance(data, dict):
        raise RulePackError(f"{name}: {'empty file' if data is None else 'not a mapping'}: {_PACK_SHAPE}")
    root = compose_yaml(text)
    duplicate = _duplicate_key_error(name, root, data)
    if duplicate is not None:
        raise duplicate
    try:
        header = RulePackHeader.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        raise RulePackError(f"{name}: {_format_loc(first['loc']) or 'pack'}: {first['msg']}") from None
    lines = _rule_lines(root)
    rules: list[Rule] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(header.rules):
        line = lines[index] if index < len(lines) else None
        where = f"{name}:{line}" if line else name
        if not isinstance(raw, dict):
            raise RulePackError(
                f"{where}: rule rules[{index}]: rule: a rule is a mapping (id, title, severity, "
                f"stride, layer, check, risk, remediation, ...), not a {type(raw).__name__}"
            )
        rule_id = raw.get("id", f"rules[{index}]")
        try:
            rule = Rule.model_validate(raw)
        except ValidationError as error:
            field, message = describe_error(error)
            raise RulePackError(f"{where}: rule {rule_id}: {field or 'rule'}: {message}") from None
        if rule.id in seen:
            raise RulePackError(f"{where}: rule {rule.id}: id: duplicate of the rule at line {seen[rule.id]}")
        seen[rule.id] = line or 0
        rule.pack = header.metadata.name
        rules.append(rule)
    return RulePack(
        name=header.metadata.name,
        description=header.metadata.description,
        file=name,
        rules=rules,
        lines={rule_id: line for rule_id, line in seen.items() if line},
    )


def pack_files(directory: Path) -> list[Path]:
    """The rule pack files of a directory, sorted (``*.yaml``/``*.yml``)."""
    if directory.is_file():
        return [directory]
    if not directory.is_dir():
        raise RulePackError(f"{directory}: no such rule pack file or directory")
    return sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def load_packs(directories: list[Path]) -> list[RulePack]:
    """Load every pack of the given directories (or files), each file once; a rule id
    defined in two files is an error."""
    packs: list[RulePack] = []
    owner: dict[str, str] = {}
    loaded: set[Path] = set()
    for directory in directories:
        for file in pack_files(directory):
            if file.resolve() in loaded:
                continue  # the same file named twice (--policy policies/x.yaml next to policies/)
            loaded.add(file.resolve())
            pack = load_pack(file)
            for rule in pack.rules:
                where = _at(str(file), pack.lines.get(rule.id))
                if rule.id in owner:
                    raise RulePackError(f"{where}: rule {rule.id}: id: already defined in {owner[rule.id]}")
                owner[rule.id] = where
            packs.append(pack)
    return packs


def _at(file: str, line: int | None) -> str:
    return f"{file}:{line}" if line else file
