"""The scan pipeline as a library: source → inventory → engine → findings (+ gate).

Every front end (the ``scan`` command, the admission webhook, ``diff``) calls these
functions; none of them re-implements a step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .analysis.registry import AnalysisSettings
from .engine.baseline import apply_baseline
from .engine.config import Config, ConfigError, unknown_rule_ids
from .engine.evaluate import Engine
from .engine.findings import sort_key
from .engine.notices import Notice
from .engine.owned import fold_owned, folded_notice_text
from .engine.result import ScanResult
from .engine.rules import Rule, load_packs
from .engine.waivers import apply_waivers
from .inventory import DEFAULT_NAMESPACE, InputError, Inventory, LoadOptions, Location, load_paths
from .inventory.loader import LoadResult
from .resources import builtin_policy_dir
from .runtime import gc_paused


class StrictModeError(InputError):
    """``--strict``: an input warning is fatal."""


@dataclass
class ScanOptions:
    """Everything that shapes one scan; defaults match ``kube-auditor scan`` with no flags."""

    policy_dirs: list[Path] = field(default_factory=list)
    builtin_policies: bool = True
    config: Config = field(default_factory=Config)
    baseline: set[str] | None = None
    default_namespace: str = DEFAULT_NAMESPACE
    strict: bool = False
    load: LoadOptions = field(default_factory=LoadOptions)
    settings: AnalysisSettings = field(default_factory=AnalysisSettings)
    #: report a finding an owned object (a Deployment's ReplicaSets and Pods) repeats from
    #: its controlling owner only on the owner (``auditor.engine.owned``)
    fold_owned: bool = True


def load_rules(options: ScanOptions) -> list[Rule]:
    """Built-in packs plus ``--policy`` packs, minus rules the config disables."""
    directories = ([builtin_policy_dir()] if options.builtin_policies else []) + list(
        options.policy_dirs
    )
    loaded = [rule for pack in load_packs(directories) for rule in pack.rules]
    problems = unknown_rule_ids(options.config, {rule.id for rule in loaded})
    if problems:
        raise ConfigError(f"{options.config.source or 'config'}: {problems[0]}")
    disabled = set(options.config.rules.disable)
    regrade = options.config.rules.severity
    return [
        rule.model_copy(update={"severity": regrade[rule.id]}) if rule.id in regrade else rule
        for rule in loaded
        if rule.id not in disabled
    ]


def scan_inventory(
    inventory: Inventory,
    rules: list[Rule],
    options: ScanOptions,
    notices: list[Notice] | None = None,
    files: list[str] | None = None,
    engine: Engine | None = None,
) -> ScanResult:
    """Evaluate rules on an inventory and apply config, waivers and baseline."""
    notices = list(notices or [])
    engine = engine or Engine(rules)
    findings = engine.evaluate(inventory, options.settings)
    config = options.config
    if config.skip_namespaces:
        skipped = set(config.skip_namespaces)
        findings = [
            f
            for f in findings
            if f.resource.namespace not in skipped
            and not (f.resource.kind == "Namespace" and f.resource.name in skipped)
        ]
    if options.fold_owned:
        findings, folded = fold_owned(findings, inventory)
        if folded:
            notices.append(Notice("owned", folded_notice_text(folded)))
    for finding in findings:
        override = config.rules.severity.get(finding.rule)
        if override is not None:
            finding.severity = override
    notices.extend(apply_waivers(findings, config.waivers))
    if options.baseline is not None:
        apply_baseline(findings, options.baseline)
    findings.sort(key=sort_key)
    return ScanResult(
        findings, notices, inventory, rules, files or [], baseline_used=options.baseline is not None
    )


def load_inventory(paths: list[str], options: ScanOptions) -> tuple[Inventory, list[Notice], list[str]]:
    """Read manifests into an inventory; input warnings become notices (or errors if strict)."""
    return inventory_from_load(load_paths(paths, options.load), options)


def inventory_from_load(
    loaded: LoadResult, options: ScanOptions
) -> tuple[Inventory, list[Notice], list[str]]:
    """An inventory from objects already read (rendered charts, kustomizations, git trees)."""
    if options.strict and loaded.warnings:
        first = loaded.warnings[0]
        raise StrictModeError(first.location, f"{first.message} (--strict)")
    notices = [
        Notice("input", w.message, w.location.file, w.location.line) for w in loaded.warnings
    ]
    inventory = Inventory.from_objects(loaded.objects, options.default_namespace)
    return inventory, notices, loaded.files


def scan_paths(paths: list[str], options: ScanOptions) -> ScanResult:
    """The whole pipeline for manifest files."""
    with gc_paused():
        rules = load_rules(options)
        inventory, notices, files = load_inventory(paths, options)
        return scan_inventory(inventory, rules, options, notices, files)


def scan_loaded(loaded: LoadResult, options: ScanOptions) -> ScanResult:
    """The whole pipeline for objects already read (``auditor.render.load_inputs``)."""
    rules = load_rules(options)
    inventory, notices, files = inventory_from_load(loaded, options)
    return scan_inventory(inventory, rules, options, notices, files)


__all__ = [
    "InputError",
    "Location",
    "ScanOptions",
    "ScanResult",
    "StrictModeError",
    "inventory_from_load",
    "load_inventory",
    "load_rules",
    "scan_inventory",
    "scan_loaded",
    "scan_paths",
]
