"""``kube-auditor rollback BACKUP``: put back what ``apply`` changed, delete what it created.

* An object apply **changed** is replaced (PUT) by its backup copy, with the live
  ``resourceVersion`` so the write is accepted. A replace, unlike a server-side apply,
  removes fields the apply added (labels, rules, list entries) instead of keeping whatever
  another manager also owns. The backup's ``managedFields`` go with it; a second,
  identical PUT then restores them exactly (the first one records the rollback's own write
  as an owner, the second changes nothing and so keeps the backup's ownership as given).
* An object apply **created** is deleted, with the uid (and resourceVersion) apply
  recorded as preconditions: an object someone deleted and re-created meanwhile is left
  alone.
* An object changed by someone else since the apply (its resourceVersion is not the one
  apply left) is skipped and reported, unless ``force``: a rollback never overwrites work
  it did not do.

Nothing else is deleted, ever. Objects are handled in the reverse order of the apply.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..inventory import InputError, Location
from .apply import BACKUP_KIND, CREATE, comparable
from .cluster import Cluster, ObjectRef, api_message


@dataclass
class RollbackResult:
    restored: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  #: with the reason
    failed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.skipped


def read_backup(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InputError(Location(str(path)), error.strerror or str(error)) from None
    except json.JSONDecodeError as error:
        raise InputError(Location(str(path), error.lineno), f"not a kube-auditor backup: {error.msg}") from None
    if not isinstance(data, dict) or data.get("kind") != BACKUP_KIND or not isinstance(data.get("objects"), list):
        raise InputError(Location(str(path)), "not a kube-auditor backup (kind KubeAuditorBackup)")
    return data


def rollback(cluster: Cluster, backup: dict[str, Any], force: bool = False) -> RollbackResult:
    result = RollbackResult()
    for entry in reversed(backup["objects"]):
        ref = ObjectRef.from_dict(entry["ref"])
        name = ref.display
        if not entry.get("applied"):
            result.unchanged.append(f"{name}: was not applied")
            continue
        after = entry.get("after") or {}
        try:
            live = cluster.get(ref)
            if entry["action"] == CREATE:
                if live is None:
                    result.unchanged.append(f"{name}: already gone")
                    continue
                if live["metadata"].get("uid") != after.get("uid"):
                    result.skipped.append(f"{name}: not the object apply created (another uid): left alone")
                    continue
                if live["metadata"].get("resourceVersion") != after.get("resourceVersion") and not force:
                    result.skipped.append(f"{name}: changed since apply: left alone (--force deletes it anyway)")
                    continue
                cluster.delete(ref, after["uid"], None if force else after.get("resourceVersion"))
                result.deleted.append(name)
                continue
            before = entry["before"]
            if live is None:
                result.skipped.append(f"{name}: deleted since apply: not re-created")
                continue
            if live["metadata"].get("uid") != before["metadata"].get("uid"):
                result.skipped.append(f"{name}: re-created since apply (another uid): left alone")
                continue
            if live["metadata"].get("resourceVersion") != after.get("resourceVersion") and not force:
                result.skipped.append(f"{name}: changed since apply: left alone (--force restores it anyway)")
                continue
            restore_object(cluster, before, live)
            result.restored.append(name)
        except Exception as error:  # noqa: BLE001 - reported per object, the rest goes on
            result.failed.append(f"{name}: {api_message(error)}")
    return result


def restore_object(cluster: Cluster, before: dict[str, Any], live: dict[str, Any]) -> dict[str, Any]:
    """Replace the live object by its backup copy, ownership (managedFields) included."""
    body = copy.deepcopy(before)
    body.pop("status", None)
    body["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"]
    stored = cluster.replace(body)
    if stored["metadata"].get("managedFields") != before["metadata"].get("managedFields") or (
        comparable(stored) != comparable(before)
    ):
        body["metadata"]["resourceVersion"] = stored["metadata"]["resourceVersion"]
        stored = cluster.replace(body)
    return stored
