"""The user configuration file (``--config``): rules off, severities re-graded, waivers."""

from __future__ import annotations

import datetime as dt
from difflib import get_close_matches
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from ..threat import Severity
from .rules import RULE_ID, field_error, load_model_file

FailOn = Literal["critical", "high", "medium", "low", "info", "none"]


class ConfigError(Exception):
    """A configuration file that cannot be used (one line: file: field: why)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class WaiverSelector(_Strict):
    """Which objects a waiver covers; every given field must match (names take globs)."""

    kind: str | None = None
    namespace: str | None = None
    name: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)


class Waiver(_Strict):
    """An accepted risk: a rule (or ``*``), the objects it covers, why, and until when."""

    rule: str
    match: WaiverSelector = Field(default_factory=WaiverSelector)
    reason: str = Field(min_length=1)
    expires: dt.date | None = None

    @field_validator("rule")
    @classmethod
    def _rule_id(cls, value: str) -> str:
        if value != "*" and not RULE_ID.match(value):
            raise ValueError("a rule id such as KA-CTR-001, or '*' for every rule")
        return value

    @field_validator("reason")
    @classmethod
    def _real_reason(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a waiver needs a reason")
        return value.strip()


class RuleSettings(_Strict):
    disable: list[str] = Field(default_factory=list)
    severity: dict[str, Severity] = Field(default_factory=dict)

    @field_validator("disable")
    @classmethod
    def _disable_ids(cls, value: list[str]) -> list[str]:
        for index, rule_id in enumerate(value):
            if not RULE_ID.match(rule_id):
                raise field_error(f"[{index}]", f"{rule_id!r} is not a rule id such as KA-CTR-001")
        return value

    @field_validator("severity")
    @classmethod
    def _severity_ids(cls, value: dict[str, Severity]) -> dict[str, Severity]:
        for rule_id in value:
            if not RULE_ID.match(rule_id):
                raise field_error(rule_id, "not a rule id such as KA-CTR-001")
        return value


class PssSettings(_Strict):
    level: Literal["baseline", "restricted"] | None = None
    version: str | None = None


class Config(_Strict):
    """Everything ``--config FILE`` can say; all fields optional."""

    api_version: Literal["kube-auditor.io/v1"] | None = Field(default=None, alias="apiVersion")
    kind: Literal["Config"] | None = None
    rules: RuleSettings = Field(default_factory=RuleSettings)
    skip_namespaces: list[str] = Field(default_factory=list, alias="skipNamespaces")
    fail_on: FailOn | None = Field(default=None, alias="failOn")
    pss: PssSettings = Field(default_factory=PssSettings)
    waivers: list[Waiver] = Field(default_factory=list)
    #: the file it was read from (for messages); None when built in code
    _source: str | None = PrivateAttr(default=None)

    @property
    def source(self) -> str | None:
        return self._source


def load_config(path: Path) -> Config:
    """Read and validate a configuration file; errors name the file, line and field."""
    config = load_model_file(path, Config, ConfigError, "config file", "rules, waivers, ...", "config")
    config._source = str(path)
    return config


def unknown_rule_ids(config: Config, known: set[str]) -> list[str]:
    """Problems with rule ids the config names but no loaded pack defines (typos, mostly:
    a misspelt id in ``disable`` or ``severity`` would otherwise be ignored without a word).
    Each problem is ``field: no rule 'ID' (did you mean ...?)``. Waivers are not checked
    here: one for a rule that is not loaded (``--no-builtin-policies``) is reported as a
    waiver that matched no finding."""
    named = [(f"rules.disable[{i}]", rule_id) for i, rule_id in enumerate(config.rules.disable)]
    named += [(f"rules.severity.{rule_id}", rule_id) for rule_id in config.rules.severity]
    problems = []
    for field, rule_id in named:
        if rule_id not in known:
            close = get_close_matches(rule_id, sorted(known), n=1, cutoff=0.8)
            hint = f" (did you mean {close[0]}?)" if close else ""
            problems.append(f"{field}: no rule {rule_id!r}{hint}")
    return problems
