"""``kube-auditor fix``: rewrite manifests so the findings with a mechanical fix go away.

The steps, each a function a library user can call:

1. scan the paths (the normal pipeline: rule packs, config, waivers);
2. for every finding with a fixer (:mod:`.fixers`), change a copy of its object;
3. turn each changed object into minimal text edits of its file (:mod:`.textedit`), so
   comments, key order, quoting and everything else stay as they were;
4. scan the new texts again, in memory, and check that each fixed finding is gone;
5. write the files in place (``--write``) or into a mirror of the input tree
   (``--output DIR``), and/or print a unified diff.

Waived findings are not fixed (someone accepted them). A fix that cannot be written as a
minimal edit is reported, never approximated.
"""

from __future__ import annotations

import copy
import difflib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..engine.findings import Finding
from ..inventory import InputError, Inventory, Location, Resource
from ..inventory.loader import RawObject, load_documents
from ..inventory.sources import iter_manifest_files, read_source
from ..inventory.yamlsafe import parse_json_stream, parse_yaml_stream
from ..pipeline import ScanOptions, load_inventory, load_rules, scan_inventory
from ..render.helm import is_chart_dir
from ..render.sources import find_charts
from . import fixers
from .fixers import MANUAL, RISKY, FixContext, Step
from .textedit import (
    EditPlanner,
    LineIndex,
    Style,
    UnsupportedEdit,
    apply_edits,
    detect_style,
    load_yaml_documents,
    unwrap_objects,
)

FIXED, PARTIAL, NOT_FIXED, WAIVED = "fixed", "partial", "not-fixed", "waived"


@dataclass
class Outcome:
    """What ``fix`` did about one finding."""

    finding: Finding
    steps: list[Step] = field(default_factory=list)
    #: set when a fix could not be written or did not clear the finding
    problem: str | None = None
    waived: bool = False

    @property
    def applied(self) -> list[Step]:
        return [s for s in self.steps if s.applied] if self.problem is None else []

    @property
    def pending(self) -> list[Step]:
        if self.problem is not None:
            return list(self.steps)
        return [s for s in self.steps if not s.applied]

    @property
    def status(self) -> str:
        if self.waived:
            return WAIVED
        if self.applied and not self.pending:
            return FIXED
        if self.applied:
            return PARTIAL
        return NOT_FIXED

    def to_dict(self) -> dict[str, Any]:
        f = self.finding
        return {
            "rule": f.rule,
            "object": f.resource.ref(),
            "source": {"file": f.resource.source.file, "line": f.resource.source.line},
            "container": f.container,
            "status": self.status,
            "applied": [_step_dict(s) for s in self.applied],
            "pending": [_step_dict(s) for s in self.pending],
            "problem": self.problem,
        }


def _step_dict(step: Step) -> dict[str, Any]:
    return {"tier": step.tier, "where": step.where, "change": step.what, "why": step.why}


@dataclass
class FileChange:
    path: str
    old: str
    new: str

    @property
    def changed(self) -> bool:
        return self.old != self.new

    def diff(self, label: str | None = None) -> str:
        name = label or self.path
        old, new = (name, name) if os.path.isabs(name) else (f"a/{name}", f"b/{name}")
        return "".join(
            difflib.unified_diff(self.old.splitlines(keepends=True), self.new.splitlines(keepends=True), old, new)
        )


@dataclass
class FixReport:
    files: list[FileChange]
    outcomes: list[Outcome]
    #: files given whose every manifest was read (for --output mirroring)
    inputs: list[str]
    notices: list[str] = field(default_factory=list)

    @property
    def changed_files(self) -> list[FileChange]:
        return [f for f in self.files if f.changed]

    def summary(self) -> dict[str, int]:
        counts = {FIXED: 0, PARTIAL: 0, NOT_FIXED: 0, WAIVED: 0}
        for outcome in self.outcomes:
            counts[outcome.status] += 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "summary": {**self.summary(), "filesChanged": len(self.changed_files)},
            "files": [f.path for f in self.changed_files],
            "findings": [o.to_dict() for o in self.outcomes],
            "notices": self.notices,
        }


@dataclass
class FixOptions:
    scan: ScanOptions = field(default_factory=ScanOptions)
    #: fix only these rules (None: all)
    rules: set[str] | None = None
    #: also apply fixes that may break a workload
    risky: bool = False
    #: rules already loaded for ``scan`` (loading packs is the slow part of a small scan)
    loaded_rules: list | None = None


# ----------------------------------------------------------------------------- planning


def _file_objects(text: str) -> list[Any]:
    """Each object of a file, as the inventory loader reads them, as ruamel nodes (JSON is
    YAML's flow style, so both formats take this path)."""
    return [obj for doc in load_yaml_documents(text) for obj in unwrap_objects(doc)]


def _identity(obj: Any) -> tuple[Any, Any]:
    metadata = obj.get("metadata") if isinstance(obj, dict) else None
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return (obj.get("kind") if isinstance(obj, dict) else None, name)


def _same_object(node: Any, obj: dict[str, Any]) -> bool:
    """Whether a node of the file is the object the inventory read (items of typed lists
    such as PodList leave their kind implied)."""
    kind, name = _identity(node)
    return name == _identity(obj)[1] and kind in (None, obj.get("kind"))


def _json_style(text: str) -> Style:
    for line in text.splitlines()[1:]:
        stripped = line.lstrip(" ")
        if stripped and len(stripped) != len(line):
            return Style(mapping=len(line) - len(stripped))
    return Style()


def _rewrite(text: str, is_json: bool, changes: list[tuple[int, Resource, dict]]) -> tuple[str, dict[int, str]]:
    """New text of a file given (object ordinal, resource, new object); per-ordinal errors."""
    errors: dict[int, str] = {}
    try:
        objects = _file_objects(text)
    except Exception as error:  # noqa: BLE001 - ruamel's many error types
        reason = f"the file cannot be edited in place ({type(error).__name__})"
        return text, {ordinal: reason for ordinal, _, _ in changes}
    lines = LineIndex(text)
    edits = []
    for ordinal, resource, new in changes:
        if ordinal >= len(objects) or not _same_object(objects[ordinal], resource.obj):
            errors[ordinal] = "the object could not be found in the file again"
            continue
        node = objects[ordinal]
        style = _json_style(text) if is_json else detect_style(node, lines)
        planner = EditPlanner(lines, style, json_mode=is_json)
        try:
            planner.diff(node, resource.obj, new)
        except UnsupportedEdit as error:
            errors[ordinal] = str(error)
            continue
        edits.extend(planner.edits)
    try:
        return apply_edits(text, edits), errors
    except UnsupportedEdit as error:
        for ordinal, _, _ in changes:
            errors.setdefault(ordinal, str(error))
        return text, errors


def _scan_texts(texts: dict[str, str], options: ScanOptions, rules) -> list[Finding]:
    """Scan file contents held in memory (the verification pass)."""
    objects: list[RawObject] = []
    warnings: list = []
    for name, text in texts.items():
        if name.lower().endswith(".json"):
            documents = parse_json_stream(text, name, warnings)
        else:
            documents = parse_yaml_stream(text, name, options.load.limits, warnings)
        load_documents(documents, name, objects, warnings)
    inventory = Inventory.from_objects(objects, options.default_namespace)
    return scan_inventory(inventory, rules, options).findings


def plan_fixes(paths: list[str], options: FixOptions | None = None) -> FixReport:
    """Everything ``fix`` would do to ``paths``, without writing anything."""
    options = options or FixOptions()
    if "-" in paths:
        raise InputError(Location("-"), "fix needs files it can rewrite, not stdin")
    rules = options.loaded_rules if options.loaded_rules is not None else load_rules(options.scan)
    # a chart's templates are not manifests: they are left alone, and said so
    charts = [p for p in paths if is_chart_dir(p)]
    charts += [chart for p in paths if p not in charts for chart in find_charts(p)]
    # each file once, even when named directly and through its directory
    unique: dict[str, str] = {}
    for name in iter_manifest_files([p for p in paths if p not in charts], skip_dir=is_chart_dir):
        unique.setdefault(os.path.realpath(name), name)
    inventory, notices, files = load_inventory(list(unique.values()), options.scan)
    result = scan_inventory(inventory, rules, options.scan, notices, files)
    ctx = FixContext(inventory, risky=options.risky)
    wanted = {r.upper() for r in options.rules} if options.rules else None

    copies: dict[int, dict] = {}
    outcomes: list[Outcome] = []
    by_resource: dict[int, list[Outcome]] = {}
    for finding in result.findings:
        if wanted is not None and finding.rule not in wanted:
            continue
        outcome = Outcome(finding)
        outcomes.append(outcome)
        if finding.waived:
            outcome.waived = True
            continue
        found = fixers.lookup(finding)
        if found is None:
            outcome.steps.append(Step(MANUAL, "object", fixers.manual_reason(finding), "no mechanical fix"))
            continue
        key = id(finding.resource)
        obj = copies.setdefault(key, copy.deepcopy(finding.resource.obj))
        outcome.steps.extend(fixers.run_fixer(found, obj, finding, ctx).steps)
        by_resource.setdefault(key, []).append(outcome)

    # ordinal of each resource inside its file, as the loader produced them
    ordinals: dict[int, int] = {}
    counters: dict[str, int] = {}
    for resource in inventory.resources:
        file = resource.source.file
        ordinals[id(resource)] = counters.get(file, 0)
        counters[file] = counters.get(file, 0) + 1
    resources = {id(r): r for r in inventory.resources}

    per_file: dict[str, list[tuple[int, Resource, dict]]] = {}
    for key, obj in copies.items():
        resource = resources[key]
        if obj != resource.obj:
            per_file.setdefault(resource.source.file, []).append((ordinals[key], resource, obj))

    changes: list[FileChange] = []
    new_texts: dict[str, str] = {}
    for name in files:
        source = read_source(name, options.scan.load.max_file_bytes)
        new = source.text
        if name in per_file:
            new, errors = _rewrite(source.text, source.is_json, per_file[name])
            for ordinal, resource, _ in per_file[name]:
                if ordinal in errors:
                    for outcome in by_resource.get(id(resource), []):
                        outcome.problem = f"not written: {errors[ordinal]}"
        changes.append(FileChange(name, source.text, new))
        new_texts[name] = new

    # verification: the fixed findings must be gone from a scan of the new texts
    if any(c.changed for c in changes):
        after = {f.fingerprint for f in _scan_texts(new_texts, options.scan, rules)}
        for outcome in outcomes:
            if outcome.status == FIXED and outcome.finding.fingerprint in after:
                outcome.problem = "the change was written but the finding remains (please report this)"
    report = FixReport(changes, outcomes, list(paths))
    report.notices = [f"{n.file}:{n.line}: {n.message}" if n.line else f"{n.file}: {n.message}" for n in notices]
    report.notices += [
        f"{chart}: a Helm chart, not rewritten: its templates are not manifests "
        "(scan it to see its findings, and fix its templates or values by hand)"
        for chart in charts
    ]
    if wanted:
        known = {rule.id for rule in rules}
        for rule_id in sorted(wanted - known):
            report.notices.append(f"--rule {rule_id}: no such rule is loaded")
    return report


# ----------------------------------------------------------------------------- writing


def _real(path: str) -> Path:
    return Path(os.path.realpath(path))


def _within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def writable_targets(paths: list[str]) -> list[Path]:
    """Real paths that ``--write`` may change: the given files, and files under the given
    directories (a symlink leading elsewhere is not one of them)."""
    return [_real(p) for p in paths]


def write_in_place(report: FixReport) -> list[str]:
    """Write changed files where they are; returns the paths written."""
    roots = writable_targets(report.inputs)
    written = []
    for change in report.changed_files:
        real = _real(change.path)
        if not any(_within(real, root) for root in roots):
            report.notices.append(f"{change.path}: not written: it resolves to {real}, outside the given paths")
            continue
        _atomic_write(real, change.new)
        written.append(change.path)
    return written


def mirror_base(paths: list[str]) -> Path:
    """The directory the output tree mirrors: the common parent of the inputs."""
    parents = [Path(p).resolve() if Path(p).is_dir() else Path(p).resolve().parent for p in paths]
    return Path(os.path.commonpath([str(p) for p in parents]))


def write_mirror(report: FixReport, output: Path) -> list[Path]:
    """Write every input manifest (changed or not) into ``output``, mirroring the tree."""
    base = mirror_base(report.inputs)
    output_real = output.resolve()
    for path in report.inputs:
        real = Path(path).resolve()
        if Path(path).is_dir() and _within(output_real, real):
            raise InputError(Location(str(output)), "--output must not be inside an input directory")
    written = []
    for change in report.files:
        target = output_real / Path(change.path).resolve().relative_to(base)
        target.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(target, change.new)
        written.append(target)
    return written


def _atomic_write(path: Path, text: str) -> None:
    mode = path.stat().st_mode & 0o7777 if path.exists() else None
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=str(path.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        if mode is not None:
            os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


__all__ = [
    "FIXED",
    "NOT_FIXED",
    "PARTIAL",
    "RISKY",
    "WAIVED",
    "FileChange",
    "FixOptions",
    "FixReport",
    "Outcome",
    "iter_manifest_files",
    "plan_fixes",
    "write_in_place",
    "write_mirror",
]
