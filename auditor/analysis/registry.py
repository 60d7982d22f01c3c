"""The analyzer registry: graph-shaped checks that rules call by name.

An analyzer is a Python function ``(context, params) -> iterable of Hit``. Rules refer to it
as ``check: {analyzer: NAME, params: {...}}``; the params are validated against the
analyzer's pydantic model when the rule pack loads, so a typo in a pack fails at load time
with the rule id and field, never half-way through a scan.

Analyzers see the whole inventory (RBAC and NetworkPolicy questions are about relations
between objects) and share expensive models through :meth:`AnalysisContext.memo`, so ten
RBAC rules build the permission graph once.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

from ..inventory import Inventory, Resource
from ..threat import Severity

#: Modules that register the built-in analyzers, imported on first lookup.
BUILTIN_ANALYZER_MODULES: tuple[str, ...] = (
    "auditor.analysis.inventory_checks",
    "auditor.analysis.serviceaccounts",
    "auditor.analysis.rbac.analyzers",
    "auditor.analysis.netpol.analyzers",
    "auditor.analysis.pss_rules",
)


class NoParams(BaseModel):
    """Parameters model for analyzers that take none."""

    model_config = ConfigDict(extra="forbid")


@dataclass(slots=True)
class Hit:
    """One place where an analyzer's check holds; the engine turns it into a finding."""

    resource: Resource
    message: str
    container: str | None = None
    #: field path inside the resource, e.g. ``spec.template.spec.containers[0]``
    path: str | None = None
    #: extra identity for the finding's fingerprint (e.g. the subject of an RBAC grant)
    key: str | None = None
    #: an analyzer may grade a hit itself (a PSP usable by everyone is worse)
    severity: Severity | None = None
    #: structured detail carried into JSON output (e.g. the steps of an escalation path)
    details: dict[str, Any] | None = None


@dataclass
class AnalysisSettings:
    """Knobs that analyzers read; the CLI and config fill them."""

    pss_level: str = "restricted"
    pss_version: str = "latest"
    #: the target cluster's Kubernetes version (``1.30``), when known
    kube_version: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


T = TypeVar("T")


@dataclass
class AnalysisContext:
    """What an analyzer gets: the inventory, the settings, and a per-run memo."""

    inventory: Inventory
    settings: AnalysisSettings = field(default_factory=AnalysisSettings)
    _memo: dict[str, Any] = field(default_factory=dict)

    def memo(self, key: str, build: Callable[[], T]) -> T:
        """Build a value once per run (e.g. the RBAC model) and share it between rules."""
        if key not in self._memo:
            self._memo[key] = build()
        return self._memo[key]


AnalyzerFunc = Callable[[AnalysisContext, Any], Iterable[Hit]]


@dataclass(frozen=True)
class AnalyzerSpec:
    name: str
    func: AnalyzerFunc
    params: type[BaseModel]
    description: str


_REGISTRY: dict[str, AnalyzerSpec] = {}
_loaded = False


def analyzer(
    name: str, params: type[BaseModel] = NoParams
) -> Callable[[AnalyzerFunc], AnalyzerFunc]:
    """Register ``func`` as the analyzer ``name`` (its docstring's first line describes it)."""

    def register(func: AnalyzerFunc) -> AnalyzerFunc:
        if name in _REGISTRY and _REGISTRY[name].func is not func:
            raise ValueError(f"analyzer {name!r} is registered twice")
        description = (func.__doc__ or "").strip().splitlines()[0] if func.__doc__ else ""
        _REGISTRY[name] = AnalyzerSpec(name, func, params, description)
        return func

    return register


def _load_builtins() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for module in BUILTIN_ANALYZER_MODULES:
            importlib.import_module(module)


def get_analyzer(name: str) -> AnalyzerSpec | None:
    _load_builtins()
    return _REGISTRY.get(name)


def all_analyzers() -> dict[str, AnalyzerSpec]:
    _load_builtins()
    return dict(_REGISTRY)
