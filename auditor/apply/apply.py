"""``kube-auditor apply``: server-side apply, with a dry run, a diff and a backup first.

1. **Plan.** Each manifest of the directory is applied with ``dryRun=All`` (field manager
   ``kube-auditor``): the API server validates it, runs admission, and returns the object
   as it would store it. That object is compared with the live one: the diff shows what
   would change, objects that would not change are skipped. Any failure here stops
   everything before a single change.
2. **Backup.** Before the first change, a timestamped JSON file records every object that
   will change exactly as it is live (``managedFields`` and ``resourceVersion`` included)
   and every object that will be created. It is rewritten after each step with what was
   done (the uid and resourceVersion each apply left), so ``rollback`` knows what is ours.
3. **Apply**, one object at a time, in dependency order (Namespaces, roles, bindings, the
   rest), stopping at the first failure and saying what was and was not applied.

Apply never deletes, and never creates Namespaces (a Namespace manifest may only label an
existing one): a namespace made by mistake would take everything created in it when a
rollback deleted it.
"""

from __future__ import annotations

import copy
import difflib
import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from ..inventory import load_paths
from .cluster import FIELD_MANAGER, Cluster, ObjectRef, api_message

BACKUP_KIND = "KubeAuditorBackup"
CREATE, UPDATE, UNCHANGED = "create", "update", "unchanged"

#: apply order: what others depend on first
KIND_ORDER = [
    "Namespace", "CustomResourceDefinition", "PriorityClass", "ServiceAccount", "ClusterRole", "Role",
    "ClusterRoleBinding", "RoleBinding", "ConfigMap", "Secret", "NetworkPolicy", "LimitRange",
    "ResourceQuota", "Service",
]
#: server-populated fields that say nothing about what an object is
VOLATILE_METADATA = ("managedFields", "resourceVersion", "generation", "uid", "creationTimestamp", "selfLink")


@dataclass
class Change:
    ref: ObjectRef
    manifest: dict[str, Any]
    action: str
    live: dict[str, Any] | None = None
    result: dict[str, Any] | None = None  #: the dry run's answer
    error: str | None = None

    def diff(self) -> str:
        old = _render(comparable(self.live)) if self.live is not None else ""
        new = _render(comparable(self.result)) if self.result is not None else ""
        name = self.ref.display.replace(" ", "/")
        return "".join(difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True),
            f"live/{name}" if self.live is not None else "/dev/null", f"applied/{name}",
        ))


@dataclass
class ApplyPlan:
    changes: list[Change]

    @property
    def errors(self) -> list[Change]:
        return [c for c in self.changes if c.error]

    @property
    def pending(self) -> list[Change]:
        return [c for c in self.changes if not c.error and c.action != UNCHANGED]


@dataclass
class ApplyResult:
    applied: list[Change] = field(default_factory=list)
    failed: Change | None = None
    not_attempted: list[Change] = field(default_factory=list)
    backup: Path | None = None


def _render(obj: dict[str, Any] | None) -> str:
    return yaml.safe_dump(obj, sort_keys=True, default_flow_style=False) if obj else ""


def comparable(obj: dict[str, Any] | None) -> dict[str, Any] | None:
    """An object without what the server maintains (status, resourceVersion, managedFields…)."""
    if obj is None:
        return None
    out = copy.deepcopy(obj)
    out.pop("status", None)
    metadata = out.get("metadata") or {}
    for key in VOLATILE_METADATA:
        metadata.pop(key, None)
    return out


def load_manifests(directory: str | Path) -> list[dict[str, Any]]:
    """The objects of every manifest under ``directory``, in apply order."""
    loaded = load_paths([str(directory)])
    objects = [raw.obj for raw in loaded.objects]

    def rank(obj: dict[str, Any]) -> int:
        kind = obj.get("kind")
        return KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)

    return sorted(objects, key=rank)


def plan_apply(cluster: Cluster, manifests: list[dict[str, Any]], force: bool = False) -> ApplyPlan:
    """Dry-run every manifest against the live cluster (nothing is changed)."""
    changes = []
    for manifest in manifests:
        manifest = copy.deepcopy(manifest)
        ref = ObjectRef.of(manifest)
        change = Change(ref, manifest, CREATE)
        changes.append(change)
        try:
            if cluster.namespaced(ref) and not ref.namespace:
                manifest.setdefault("metadata", {})["namespace"] = "default"
                change.ref = ref = ObjectRef.of(manifest)
            change.live = cluster.get(ref)
            if change.live is None and ref.kind == "Namespace":
                change.error = "namespace does not exist; apply labels namespaces but never creates them"
                continue
            change.result = cluster.apply(manifest, dry_run=True, force=force)
        except LookupError as error:
            change.error = str(error)
            continue
        except Exception as error:  # noqa: BLE001 - any API error is reported, per object
            change.error = api_message(error)
            if getattr(error, "status", None) == 409 and not force:
                change.error += f" (another field manager owns these fields; --force-conflicts makes {FIELD_MANAGER} take them)"
            continue
        if change.live is not None:
            change.action = UNCHANGED if comparable(change.live) == comparable(change.result) else UPDATE
    return ApplyPlan(changes)


# ----------------------------------------------------------------------------- backup


def backup_path(directory: Path) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    return directory / f"kube-auditor-backup-{stamp}.json"


def new_backup(cluster: Cluster, plan: ApplyPlan, source: str) -> dict[str, Any]:
    return {
        "kind": BACKUP_KIND,
        "version": 1,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "server": cluster.server,
        "context": cluster.context,
        "fieldManager": FIELD_MANAGER,
        "source": source,
        "objects": [
            {
                "ref": change.ref.to_dict(),
                "action": change.action,
                "before": change.live,
                "applied": False,
                "after": None,
            }
            for change in plan.pending
        ],
    }


def write_backup(path: Path, backup: dict[str, Any]) -> None:
    """Write (or rewrite) the backup atomically, readable by its owner only (it may hold Secrets)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=str(path.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(backup, handle, indent=2, sort_keys=False)
            handle.write("\n")
        os.chmod(temp, 0o600)
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


def execute(cluster: Cluster, plan: ApplyPlan, backup_file: Path, source: str, force: bool = False) -> ApplyResult:
    """Write the backup, then apply each pending change, stopping at the first failure."""
    pending = plan.pending
    result = ApplyResult(backup=backup_file)
    backup = new_backup(cluster, plan, source)
    write_backup(backup_file, backup)
    for index, change in enumerate(pending):
        try:
            stored = cluster.apply(change.manifest, dry_run=False, force=force)
        except Exception as error:  # noqa: BLE001 - reported, and the run stops
            change.error = api_message(error)
            result.failed = change
            result.not_attempted = pending[index + 1:]
            break
        metadata = stored.get("metadata") or {}
        entry = backup["objects"][index]
        entry["applied"] = True
        entry["after"] = {"uid": metadata.get("uid"), "resourceVersion": metadata.get("resourceVersion")}
        write_backup(backup_file, backup)
        result.applied.append(change)
    return result
