"""The user configuration file (``--config``): rules off, severities re-graded, waivers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..threat import Severity
from .rules import RULE_ID, _format_loc

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


def load_config(path: Path) -> Config:
    name = str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"{name}: {error.strerror or error}") from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark else name
        raise ConfigError(f"{where}: {error.problem}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise ConfigError(f"{name}: {error}") from None
    if data is None:
        return Config()
    try:
        return Config.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        field = _format_loc(first["loc"]) or "config"
        raise ConfigError(f"{name}: {field}: {first['msg'].removeprefix('Value error, ')}") from None
