"""Waivers: accepted risks, from the config file or from annotations on the object itself.

A waived finding stays in every report (marked, with its reason) but never fails a gate.
A waiver without a reason, or past its expiry date, is not honoured, and says so.
"""

from __future__ import annotations

import datetime as dt
from fnmatch import fnmatchcase

from ..inventory import Resource
from .config import Waiver
from .findings import Finding
from .notices import Notice

WAIVE_ANNOTATION = "kube-auditor.io/waive"
WAIVE_REASON_ANNOTATION = "kube-auditor.io/waive-reason"


def _selector_matches(waiver: Waiver, resource: Resource) -> bool:
    selector = waiver.match
    if selector.kind is not None and selector.kind != resource.kind:
        return False
    if selector.namespace is not None and not fnmatchcase(resource.namespace or "", selector.namespace):
        return False
    if selector.name is not None and not fnmatchcase(resource.name, selector.name):
        return False
    labels = resource.labels
    return all(labels.get(k) == v for k, v in selector.labels.items())


def _annotation_waiver(
    resource: Resource, notices: list[Notice], reported: set[int]
) -> tuple[set[str], str | None]:
    """Rule ids an object waives for itself, and the reason (or no ids when unreasoned)."""
    annotations = resource.annotations
    raw = annotations.get(WAIVE_ANNOTATION)
    if not isinstance(raw, str) or not raw.strip():
        return set(), None
    ids = {part.strip() for part in raw.split(",") if part.strip()}
    reason = annotations.get(WAIVE_REASON_ANNOTATION)
    if not isinstance(reason, str) or not reason.strip():
        if id(resource) not in reported:
            reported.add(id(resource))
            notices.append(
                Notice(
                    "waiver",
                    f"{resource.display}: annotation {WAIVE_ANNOTATION} has no "
                    f"{WAIVE_REASON_ANNOTATION}; the waiver is not honoured",
                    resource.source.file,
                    resource.source.line,
                )
            )
        return set(), None
    return ids, reason.strip()


def apply_waivers(
    findings: list[Finding], waivers: list[Waiver], today: dt.date | None = None
) -> list[Notice]:
    """Mark waived findings in place; return notices about waivers that were not honoured."""
    today = today or dt.date.today()
    notices: list[Notice] = []
    active: list[Waiver] = []
    for index, waiver in enumerate(waivers):
        if waiver.expires is not None and waiver.expires < today:
            notices.append(
                Notice(
                    "waiver",
                    f"waiver #{index + 1} for {waiver.rule} expired on {waiver.expires.isoformat()} "
                    "and no longer applies",
                )
            )
        else:
            active.append(waiver)
    used = [False] * len(active)
    reported: set[int] = set()
    by_resource: dict[int, tuple[set[str], str | None]] = {}  # one annotation read per object
    for finding in findings:
        key = id(finding.resource)
        if key not in by_resource:
            by_resource[key] = _annotation_waiver(finding.resource, notices, reported)
        ids, reason = by_resource[key]
        if finding.rule in ids:
            finding.waived, finding.waiver_reason = True, reason
        for index, waiver in enumerate(active):
            if waiver.rule in ("*", finding.rule) and _selector_matches(waiver, finding.resource):
                # A config waiver that matches is used, even where the object's own annotation
                # already waives the finding (its reason, the more specific one, is kept).
                used[index] = True
                if not finding.waived:
                    finding.waived, finding.waiver_reason = True, waiver.reason
                break
    for index, waiver in enumerate(active):
        if not used[index]:
            notices.append(
                Notice("waiver", f"waiver for {waiver.rule} ({waiver.reason!r}) matched no finding")
            )
    return notices
