"""A semantic security diff: what a change does to security, in parts.

* **findings** new, fixed and unchanged, by stable fingerprint (:mod:`.findings`);
* **network**: NetworkPolicy reachability opened and closed, the difference of the two
  ``netpol list``\\s per protocol and port (:mod:`.network`);
* **rbac**: permissions gained and lost per subject, and escalation paths to
  cluster-admin newly possible (:mod:`.permissions`);
* **pod security**: the strictest Pod Security level each workload passes, before → after
  (:mod:`.podsecurity`).

What the change introduces is graded (:mod:`.grading`) so that ``--fail-on`` judges the
change, not the debt it inherits: a pull request that fixes one problem in a repository
with a hundred passes.

    >>> from auditor.diff import DiffOptions, diff_paths
    >>> from auditor.threat import Severity
    >>> result = diff_paths("old/", "new/", DiffOptions())
    >>> [item.summary for item in result.failing(Severity.high)]
"""

from __future__ import annotations

from ..inventory import Location
from .findings import finding_changes
from .model import (
    ConnectionChange,
    DiffResult,
    EscalationChange,
    FindingChanges,
    Introduced,
    PermissionChange,
    PodSecurityChange,
)
from .network import network_changes
from .permissions import permission_changes
from .podsecurity import pod_security_changes
from .sides import DiffOptions, GitError, Side, find_repository, scan_path, scan_revision


def diff_sides(base: Side, head: Side, options: DiffOptions) -> DiffResult:
    """Compare two scanned sides, part by part."""
    before, after = base.result.inventory, head.result.inventory
    opened, closed = network_changes(before, after)
    gained, lost, new_paths, removed_paths = permission_changes(before, after, options.builtin_rbac)
    return DiffResult(
        base=base.label,
        head=head.label,
        findings=finding_changes(base.result.findings, head.result.findings),
        opened=opened,
        closed=closed,
        gained=gained,
        lost=lost,
        new_paths=new_paths,
        removed_paths=removed_paths,
        pods=pod_security_changes(before, after),
        notices=[
            f"{side}: {notice}"
            for side, result in (("base", base.result), ("head", head.result))
            for notice in result.notices
        ],
    )


def diff_paths(base: str, head: str, options: DiffOptions | None = None) -> DiffResult:
    """Diff two paths (directories, files or chart directories)."""
    options = options or DiffOptions()
    return diff_sides(scan_path(base, options), scan_path(head, options), options)


def diff_git(rev_a: str, rev_b: str, path: str = ".", options: DiffOptions | None = None) -> DiffResult:
    """Diff ``path`` (inside a git repository) between two revisions."""
    options = options or DiffOptions()
    repo = find_repository(path)
    base, head = scan_revision(repo, rev_a, options), scan_revision(repo, rev_b, options)
    if base.missing and head.missing:
        raise GitError(Location(path), f"does not exist at {rev_a} or at {rev_b}")
    return diff_sides(base, head, options)


__all__ = [
    "ConnectionChange",
    "DiffOptions",
    "DiffResult",
    "EscalationChange",
    "FindingChanges",
    "GitError",
    "Introduced",
    "PermissionChange",
    "PodSecurityChange",
    "Side",
    "diff_git",
    "diff_paths",
    "diff_sides",
]
