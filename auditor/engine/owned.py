"""Findings that objects owned by a controller repeat from their owner, folded into it.

A live cluster holds a Deployment, its ReplicaSets (old revisions too) and their Pods, and
each carries the same pod template: a container finding on the Deployment comes back on
every ReplicaSet and every Pod. A CronJob's Jobs and their Pods, a StatefulSet's or a
DaemonSet's Pods do the same. Listing them all buries the report (one missing
``readOnlyRootFilesystem`` becomes fifty findings) and fixing the owner fixes them all.

So a finding on an object whose controlling owner (``ownerReferences`` with
``controller: true``) is in the same inventory is dropped when the owner has the same
finding: same rule, container and analyzer key. What the owned object does *differently*
stays: a sidecar a mutating webhook injected into the Pods, a ReplicaSet of an older
revision whose template the Deployment has since fixed, a Pod whose owner is not in the
input. The comparison is with the direct owner's findings before folding, so chains
(Pod → ReplicaSet → Deployment) fold link by link.

Manifests rarely carry ``ownerReferences``, so file scans are unchanged; the admission
webhook sees one object at a time and never folds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from ..inventory import Inventory, Resource
from ..inventory.kinds import api_group
from .findings import Finding

#: a finding's identity apart from its object
_Signature = tuple[str, str | None, str | None]


def _signature(finding: Finding) -> _Signature:
    return (finding.rule, finding.container, finding.key)


def controlling_owners(inventory: Inventory) -> dict[int, Resource]:
    """Each owned resource (by ``id``) mapped to its controlling owner in the inventory.

    The owner is matched by group, kind, namespace and name, and by uid when both sides
    have one (a reference to a deleted and re-created owner is not to the new one).
    """
    by_key: dict[tuple[str, str, str | None, str], Resource] = {}
    for resource in inventory:
        by_key.setdefault(resource.key, resource)
    owners: dict[int, Resource] = {}
    for resource in inventory:
        refs = resource.metadata.get("ownerReferences")
        if not refs or not isinstance(refs, list):
            continue
        for ref in refs:
            if not isinstance(ref, dict) or ref.get("controller") is not True:
                continue
            api_version, kind, name = ref.get("apiVersion"), ref.get("kind"), ref.get("name")
            if not (isinstance(api_version, str) and isinstance(kind, str) and isinstance(name, str)):
                break
            owner = by_key.get((api_group(api_version), kind, resource.namespace, name))
            if owner is None:  # a namespaced object's owner is in its namespace, or cluster-scoped
                owner = by_key.get((api_group(api_version), kind, None, name))
            if owner is not None and owner is not resource:
                uid, owner_uid = ref.get("uid"), owner.metadata.get("uid")
                if not (uid and owner_uid and uid != owner_uid):
                    owners[id(resource)] = owner
            break  # at most one controller
    return owners


def fold_owned(findings: Iterable[Finding], inventory: Inventory) -> tuple[list[Finding], list[Finding]]:
    """(kept, folded): findings an owned object shares with its controlling owner are folded."""
    findings = list(findings)
    owners = controlling_owners(inventory)
    if not owners:
        return findings, []
    signatures: dict[int, set[_Signature]] = defaultdict(set)
    for finding in findings:
        signatures[id(finding.resource)].add(_signature(finding))
    kept: list[Finding] = []
    folded: list[Finding] = []
    for finding in findings:
        owner = owners.get(id(finding.resource))
        if owner is not None and _signature(finding) in signatures.get(id(owner), ()):
            folded.append(finding)
        else:
            kept.append(finding)
    return kept, folded


def folded_notice_text(folded: list[Finding]) -> str:
    """One line saying how many findings were folded and on which kinds of object."""
    kinds = sorted({finding.resource.kind for finding in folded})
    return (
        f"{len(folded)} finding(s) on objects owned by a controller in the input "
        f"({', '.join(kinds)}) repeat their owner's and are reported once, on the owner; "
        "--include-owned lists them"
    )


__all__ = ["controlling_owners", "fold_owned", "folded_notice_text"]
