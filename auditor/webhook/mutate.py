"""``/mutate``: safe security defaults as an RFC 6902 JSONPatch (off unless configured).

Three defaults, each added only where it cannot change what a working pod may do
beyond what the restricted Pod Security level already expects, and never over a choice
the manifest made:

* ``seccompProfile: {type: RuntimeDefault}`` on the pod's securityContext, when neither
  the pod nor any container sets a profile and no legacy seccomp annotation is present
  (the API server rejects a field that disagrees with one);
* ``allowPrivilegeEscalation: false`` on each container that leaves it unset;
* ``capabilities.drop: [ALL]`` on each container that does not set ``drop``.

A container that is privileged or adds capabilities is left alone (it has made choices
a default could break: setuid or file-capability binaries, and the API server rejects
``allowPrivilegeEscalation: false`` next to ``privileged`` or ``SYS_ADMIN``), and so is
the pod's seccomp profile when any container is. Windows pods are never changed.

The patch also records what it did in the annotation ``kube-auditor.io/mutated``. Paths
are JSON Pointers (RFC 6901): ``~`` and ``/`` in keys are escaped as ``~0`` and ``~1``.
"""

from __future__ import annotations

from typing import Any

from ..inventory.kinds import POD_SPEC_PATHS
from ..inventory.podspec import CONTAINER_FIELDS
from .config import Mutation

MUTATED_ANNOTATION = "kube-auditor.io/mutated"
SECCOMP_ANNOTATION_PREFIXES = (
    "seccomp.security.alpha.kubernetes.io/pod",
    "container.seccomp.security.alpha.kubernetes.io/",
)


def escape_token(token: str | int) -> str:
    """One JSON Pointer reference token (RFC 6901 section 3): ``~`` → ``~0``, ``/`` → ``~1``."""
    return str(token).replace("~", "~0").replace("/", "~1")


def pointer(*tokens: str | int) -> str:
    """A JSON Pointer from raw tokens: ``pointer("metadata", "annotations", "a/b")``."""
    return "".join("/" + escape_token(t) for t in tokens)


def _dict(value: Any) -> dict | None:
    return value if isinstance(value, dict) else None


def _adds_any(sc: dict) -> bool:
    caps = _dict(sc.get("capabilities")) or {}
    return bool(caps.get("add"))


def pod_patch(
    metadata: dict[str, Any], spec: dict[str, Any], base: tuple[str, ...], settings: Mutation
) -> tuple[list[dict[str, Any]], list[str]]:
    """Patch operations for one pod spec at ``base`` (``("spec",)`` for a Pod), and the
    names of the defaults it adds (for the annotation)."""
    ops: list[dict[str, Any]] = []
    done: list[str] = []
    pod_os = _dict(spec.get("os")) or {}
    if pod_os.get("name") == "windows":
        return ops, done
    containers: list[tuple[str, int, dict]] = []
    for field_name in CONTAINER_FIELDS:
        items = spec.get(field_name)
        if isinstance(items, list):
            containers += [(field_name, i, c) for i, c in enumerate(items) if isinstance(c, dict)]
    contexts = [(f, i, c, _dict(c.get("securityContext"))) for f, i, c in containers]
    # A container that is privileged or adds capabilities has made choices a default
    # could break (setuid or file-capability binaries, syscalls its profile needs).
    special = [sc is not None and (sc.get("privileged") is True or _adds_any(sc)) for *_, sc in contexts]

    if settings.seccomp:
        pod_sc = _dict(spec.get("securityContext"))
        annotations = _dict(metadata.get("annotations")) or {}
        has_profile = (pod_sc is not None and pod_sc.get("seccompProfile") is not None) or any(
            sc is not None and sc.get("seccompProfile") is not None for *_, sc in contexts
        )
        legacy = any(
            isinstance(k, str) and k.startswith(SECCOMP_ANNOTATION_PREFIXES) for k in annotations
        )
        if not has_profile and not legacy and not any(special):
            profile = {"type": "RuntimeDefault"}
            if pod_sc is None:
                ops.append({"op": "add", "path": pointer(*base, "securityContext"), "value": {"seccompProfile": profile}})
            else:
                ops.append({"op": "add", "path": pointer(*base, "securityContext", "seccompProfile"), "value": profile})
            done.append("seccompProfile")

    escalation = drop = False
    for (field_name, index, _, sc), hands_off in zip(contexts, special, strict=True):
        if hands_off:
            continue
        at = (*base, field_name, index, "securityContext")
        additions: dict[str, Any] = {}
        if settings.allow_privilege_escalation and (sc is None or sc.get("allowPrivilegeEscalation") is None):
            additions["allowPrivilegeEscalation"] = False
            escalation = True
        caps = _dict(sc.get("capabilities")) if sc is not None else None
        if settings.drop_capabilities and (caps is None or caps.get("drop") is None):
            drop = True
            if caps is None:
                additions["capabilities"] = {"drop": ["ALL"]}
            else:
                ops.append({"op": "add", "path": pointer(*at, "capabilities", "drop"), "value": ["ALL"]})
        if not additions:
            continue
        if sc is None:
            ops.append({"op": "add", "path": pointer(*at), "value": additions})
        else:
            for key, value in additions.items():
                ops.append({"op": "add", "path": pointer(*at, key), "value": value})
    if escalation:
        done.append("allowPrivilegeEscalation")
    if drop:
        done.append("capabilities")
    return ops, done


def mutation_patch(obj: dict[str, Any], settings: Mutation) -> list[dict[str, Any]]:
    """The JSONPatch for a Pod or a workload's pod template; empty when nothing is added."""
    kind = obj.get("kind")
    path = POD_SPEC_PATHS.get(kind) if isinstance(kind, str) else None
    if path is None:
        return []
    holder: Any = obj
    for key in path:
        holder = holder.get(key) if isinstance(holder, dict) else None
    spec = _dict(holder)
    if spec is None:
        return []
    if kind == "Pod":
        metadata_path: tuple[str, ...] = ("metadata",)
    else:
        metadata_path = path[:-1] + ("metadata",)
    metadata: Any = obj
    for key in metadata_path:
        metadata = metadata.get(key) if isinstance(metadata, dict) else None
    ops, done = pod_patch(_dict(metadata) or {}, spec, path, settings)
    if not ops:
        return ops
    # Record what was added, on the object itself (for a workload: its own metadata).
    own = _dict(obj.get("metadata"))
    value = ",".join(done)
    if own is None:
        ops.append({"op": "add", "path": pointer("metadata"), "value": {"annotations": {MUTATED_ANNOTATION: value}}})
    elif _dict(own.get("annotations")) is None:
        ops.append({"op": "add", "path": pointer("metadata", "annotations"), "value": {MUTATED_ANNOTATION: value}})
    else:
        ops.append({"op": "add", "path": pointer("metadata", "annotations", MUTATED_ANNOTATION), "value": value})
    return ops
