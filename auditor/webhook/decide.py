"""Admission decisions with the scan engine: the same packs, config, severities and waivers.

:class:`Admission` is built once at startup (rule packs loaded and validated, conditions
compiled, one engine per kind the first time the kind is seen) and then answers requests
with :meth:`Admission.decide`, which is synchronous, thread-safe and never raises on any
request that :func:`auditor.webhook.review.parse_review` accepted. Deadlines are the
server's business (``server.py`` runs ``decide`` in a worker thread).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

import orjson

from ..analysis.registry import AnalysisSettings
from ..engine.evaluate import Engine
from ..engine.findings import Finding
from ..engine.rules import Rule
from ..inventory import DEFAULT_NAMESPACE, Inventory
from ..pipeline import ScanOptions, load_rules, scan_inventory
from ..threat import Severity
from .config import WebhookConfig
from .review import AdmissionRequest
from .scope import admission_kinds, skip_reason

#: Findings listed in one denial message or one warnings list; the rest are counted.
MAX_LISTED = 20
#: Warnings longer than this are cut (the API server truncates long warnings anyway).
MAX_WARNING_CHARS = 240
#: Sub-resources whose requests carry containers (others, such as status, pass).
EVALUATED_SUBRESOURCES = frozenset({"", "ephemeralcontainers"})
#: At most this many kinds get an engine of their own; others share a field-rule engine.
MAX_ENGINES = 256
#: Results of analyzer-backed evaluations kept by content (RBAC reviews build the RBAC
#: model with Kubernetes' built-in roles, ~100 times the cost of a Pod's).
RESULT_CACHE_SIZE = 512
#: metadata that changes with every write but never changes a finding
_VOLATILE_METADATA = frozenset({
    "resourceVersion", "uid", "generation", "creationTimestamp", "managedFields", "selfLink",
})


@dataclass(slots=True)
class Decision:
    """The answer to one request, before it is written as an AdmissionReview."""

    allowed: bool
    #: why it was decided this way: evaluated, exempt, operation, subresource, deleting,
    #: timeout, error
    reason: str
    message: str | None = None
    warnings: list[str] = field(default_factory=list)
    audit_annotations: dict[str, str] = field(default_factory=dict)
    #: findings that count (not waived), most severe first
    findings: list[Finding] = field(default_factory=list)
    #: findings at or above the threshold (the ones that deny in enforce mode)
    violations: list[Finding] = field(default_factory=list)
    waived: list[Finding] = field(default_factory=list)


class Admission:
    """Rules, config and engines, built once; :meth:`decide` per request."""

    def __init__(self, config: WebhookConfig) -> None:
        self.config = config
        scan_config = config.scan_config
        self.options = ScanOptions(
            policy_dirs=config.policy_paths(),
            builtin_policies=config.builtin_policies,
            config=scan_config,
            settings=AnalysisSettings(
                pss_level=scan_config.pss.level or "restricted",
                pss_version=scan_config.pss.version or "latest",
                extra={"rbac.builtin": True},
            ),
        )
        loaded = load_rules(self.options)
        skipped_ids = set(config.skip_rules)
        #: rules evaluated at admission, and (rule, why) for those that are not
        self.rules: list[Rule] = []
        self.skipped: list[tuple[Rule, str]] = []
        for rule in loaded:
            why = "skipped by the webhook config (skipRules)" if rule.id in skipped_ids else skip_reason(rule)
            if why:
                self.skipped.append((rule, why))
            else:
                self.rules.append(rule)
        self._field_rules = [r for r in self.rules if admission_kinds(r) is None]
        self._analyzer_rules = [(r, admission_kinds(r)) for r in self.rules if admission_kinds(r) is not None]
        self._field_engine = Engine(self._field_rules)
        self._engines: dict[str, tuple[Engine, list[Rule]]] = {}
        self._lock = threading.Lock()
        self._results: OrderedDict[bytes, tuple[list[Finding], list[Finding]]] = OrderedDict()
        self.threshold: Severity = config.effective_threshold
        self.warn_threshold: Severity | None = config.effective_warn_threshold
        ex = config.exemptions
        self._exempt_namespaces = list(ex.namespaces)
        self._exempt_users = list(ex.users)
        self._exempt_groups = list(ex.groups)
        self._exempt_labels = dict(ex.labels)

    # -- engines ---------------------------------------------------------------------

    def engine_for(self, kind: str) -> tuple[Engine, list[Rule]]:
        """The engine for one kind: every field rule, plus the analyzer rules that judge
        this kind alone. Built on first use and kept (compiling is the expensive part)."""
        cached = self._engines.get(kind)
        if cached is not None:
            return cached
        analyzers = [rule for rule, kinds in self._analyzer_rules if kind in kinds]
        if not analyzers:
            built = (self._field_engine, self._field_rules)
        else:
            rules = self._field_rules + analyzers
            built = (Engine(rules), rules)
        with self._lock:
            if len(self._engines) < MAX_ENGINES:
                self._engines.setdefault(kind, built)
        return built

    def warm_up(self, kinds: list[str]) -> None:
        """Build the engines of the kinds the webhook is registered for, before serving."""
        for kind in kinds:
            self.engine_for(kind)

    # -- exemptions --------------------------------------------------------------------

    def exemption(self, request: AdmissionRequest) -> str | None:
        """Why the request is exempt (for logs and audit annotations), or None."""
        namespace = request.namespace
        if namespace and any(fnmatchcase(namespace, p) for p in self._exempt_namespaces):
            return f"namespace {namespace}"
        if request.kind == "Namespace" and any(
            fnmatchcase(request.name, p) for p in self._exempt_namespaces
        ):
            return f"namespace {request.name}"
        if request.username and any(fnmatchcase(request.username, p) for p in self._exempt_users):
            return "user"
        for group in request.groups:
            if any(fnmatchcase(group, p) for p in self._exempt_groups):
                return f"group {group}"
        if self._exempt_labels and request.object is not None:
            labels = _labels(request.object)
            if all(labels.get(k) == v for k, v in self._exempt_labels.items()):
                return "labels"
        return None

    # -- evaluation --------------------------------------------------------------------

    def findings(self, obj: dict[str, Any], request: AdmissionRequest) -> tuple[list[Finding], list[Finding]]:
        """(counted, waived) findings of the rules on one object, as ``scan`` reports them.

        Objects judged by analyzers (RBAC objects, NetworkPolicies) are remembered by
        content: an unchanged object re-applied, or the old object of an update, costs a
        lookup. Findings are never mutated after this point, so sharing them is safe."""
        obj = _with_type(obj, request)
        engine, rules = self.engine_for(obj["kind"])
        key = self._cache_key(obj, request) if engine is not self._field_engine else None
        if key is not None:
            with self._lock:
                cached = self._results.get(key)
                if cached is not None:
                    self._results.move_to_end(key)
                    return cached
        inventory = Inventory.from_dicts([obj], request.namespace or DEFAULT_NAMESPACE, file="<admission>")
        result = scan_inventory(inventory, rules, self.options, engine=engine)
        counted = [f for f in result.findings if f.counts_for_gate]
        waived = [f for f in result.findings if f.waived]
        if key is not None:
            with self._lock:
                self._results[key] = (counted, waived)
                if len(self._results) > RESULT_CACHE_SIZE:
                    self._results.popitem(last=False)
        return counted, waived

    @staticmethod
    def _cache_key(obj: dict[str, Any], request: AdmissionRequest) -> bytes | None:
        try:
            text = orjson.dumps(
                [_stable(obj), request.namespace, dt.date.today().isoformat()], option=orjson.OPT_SORT_KEYS
            )
        except (TypeError, orjson.JSONEncodeError):
            return None
        return hashlib.sha256(text).digest()

    def precheck(self, request: AdmissionRequest) -> Decision | None:
        """The answers that need no rule: operations and sub-resources that carry nothing
        to judge, exemptions, objects being deleted, updates that change nothing rules
        read. None when the rules must run."""
        if request.operation not in ("CREATE", "UPDATE"):
            return Decision(True, "operation")
        if request.sub_resource not in EVALUATED_SUBRESOURCES:
            return Decision(True, "subresource")
        exempt = self.exemption(request)
        if exempt is not None:
            return Decision(True, "exempt", audit_annotations={"exempt": exempt})
        obj = request.object
        assert obj is not None  # parse_review requires it for CREATE and UPDATE
        if request.operation == "UPDATE" and _metadata(obj).get("deletionTimestamp"):
            return Decision(True, "deleting")
        if (
            request.operation == "UPDATE"
            and self.config.updates.new_findings_only
            and request.old_object is not None
            and _stable(obj) == _stable(request.old_object)
        ):
            return Decision(True, "unchanged")  # nothing that rules read has changed
        return None

    def decide(self, request: AdmissionRequest) -> Decision:
        early = self.precheck(request)
        if early is not None:
            return early
        obj = request.object
        assert obj is not None
        counted, waived = self.findings(obj, request)
        if (
            counted
            and request.operation == "UPDATE"
            and request.old_object is not None
            and self.config.updates.new_findings_only
        ):
            before, _ = self.findings(request.old_object, request)
            known = {f.fingerprint for f in before}
            counted = [f for f in counted if f.fingerprint not in known]
        return self._verdict(request, counted, waived)

    def _verdict(self, request: AdmissionRequest, counted: list[Finding], waived: list[Finding]) -> Decision:
        threshold, warn_at = self.threshold, self.warn_threshold
        violations = [f for f in counted if f.severity.at_least(threshold)]
        lesser = [
            f for f in counted
            if warn_at is not None and not f.severity.at_least(threshold) and f.severity.at_least(warn_at)
        ]
        mode = self.config.mode
        decision = Decision(True, "evaluated", findings=counted, violations=violations, waived=waived)
        for finding in waived:
            key = f"waived-{finding.rule}"
            decision.audit_annotations.setdefault(key, _cut(finding.waiver_reason or "waived", 250))
        if mode == "enforce":
            if violations:
                decision.allowed = False
                decision.message = denial_message(request, violations, threshold)
            decision.warnings = warnings_for(lesser)
        elif mode == "warn":
            decision.warnings = warnings_for(violations + lesser)
        else:
            decision.audit_annotations.update(annotations_for(violations + lesser))
        return decision


# ---------------------------------------------------------------------------------------
# Wording


def _describe(request: AdmissionRequest) -> str:
    name = request.name or _metadata(request.object or {}).get("generateName") or ""
    where = f"{request.namespace}/{name}" if request.namespace else name
    return f"{request.kind} {where}".rstrip()


def denial_message(request: AdmissionRequest, violations: list[Finding], threshold: Severity) -> str:
    """Every rule that denies, its finding and its fix, one per line."""
    count = len(violations)
    lines = [
        f"kube-auditor denied {_describe(request)}: {count} finding{'s' if count != 1 else ''} "
        f"at or above {threshold.value}"
    ]
    for finding in violations[:MAX_LISTED]:
        lines.append(
            f"- {finding.rule} ({finding.severity.value}) {finding.message}. Fix: {finding.remediation}"
        )
    if count > MAX_LISTED:
        lines.append(f"- ... and {count - MAX_LISTED} more (kube-auditor scan shows them all)")
    return "\n".join(lines)


def warnings_for(findings: list[Finding]) -> list[str]:
    """One warning per rule (its first finding, and how many more): the API server keeps
    about 4 KiB of warnings per response and cuts long ones, so they stay short."""
    grouped: dict[str, list[Finding]] = {}
    for finding in findings:
        grouped.setdefault(finding.rule, []).append(finding)
    out = []
    for rule, found in list(grouped.items())[:MAX_LISTED]:
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        head = f"{rule} ({found[0].severity.value}): "
        out.append(head + _cut(found[0].message, MAX_WARNING_CHARS - len(head) - len(more)) + more)
    if len(grouped) > MAX_LISTED:
        out.append(f"... and {len(grouped) - MAX_LISTED} more kube-auditor rules")
    return out


def annotations_for(findings: list[Finding]) -> dict[str, str]:
    """One audit annotation per rule (the API server prefixes the webhook's name)."""
    grouped: dict[str, list[str]] = {}
    for finding in findings:
        grouped.setdefault(finding.rule, []).append(finding.message)
    out = {}
    for rule, messages in grouped.items():
        severity = next(f.severity.value for f in findings if f.rule == rule)
        out[rule] = _cut(f"{severity}: " + "; ".join(messages), 1000)
    return out


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _metadata(obj: dict[str, Any]) -> dict[str, Any]:
    metadata = obj.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def _stable(obj: dict[str, Any]) -> dict[str, Any]:
    """The object without status and the metadata every write changes: what rules read."""
    stable = {k: v for k, v in obj.items() if k not in ("metadata", "status")}
    stable["metadata"] = {k: v for k, v in _metadata(obj).items() if k not in _VOLATILE_METADATA}
    return stable


def _labels(obj: dict[str, Any]) -> dict[str, Any]:
    labels = _metadata(obj).get("labels")
    return labels if isinstance(labels, dict) else {}


def _with_type(obj: dict[str, Any], request: AdmissionRequest) -> dict[str, Any]:
    """The object with apiVersion and kind (the request's, when the object lacks them)."""
    if isinstance(obj.get("apiVersion"), str) and isinstance(obj.get("kind"), str) and obj["kind"]:
        return obj
    api_version = f"{request.group}/{request.version}" if request.group else request.version or "v1"
    return {**obj, "apiVersion": api_version, "kind": request.kind}
