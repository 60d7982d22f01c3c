"""Kubernetes' own RBAC objects: the bootstrap roles and bindings every API server creates.

Manifests rarely contain ``cluster-admin``, ``edit`` or the ``system:controller:*`` roles,
yet bindings refer to them and they decide who can do what. They are read from
``data/bootstrap-rbac.yaml``, a multi-document dump of the objects a real kube-apiserver
creates at start-up; its header comment names the Kubernetes version it comes from. The file
is generated, never written by hand.

When the file is absent or unreadable nothing fails: :func:`load_builtin` returns an empty
set whose :attr:`BuiltinRBAC.status` says why, and the commands print that status.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from ...inventory import InputError, Inventory, Resource, load_paths

#: Where the generated dump of the bootstrap RBAC objects lives.
BOOTSTRAP_FILE = Path(__file__).resolve().parent / "data" / "bootstrap-rbac.yaml"

RBAC_GROUP = "rbac.authorization.k8s.io"
RBAC_KINDS = ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")
#: The label the API server puts on every bootstrap object.
BOOTSTRAP_LABEL = "kubernetes.io/bootstrapping"
BOOTSTRAP_LABEL_VALUE = "rbac-defaults"
#: ``"false"`` here stops the API server from re-adding missing bootstrap rules at start-up.
AUTOUPDATE_ANNOTATION = "rbac.authorization.kubernetes.io/autoupdate"
#: User-facing bootstrap ClusterRoles (the rest are named ``system:*``).
USER_FACING_ROLES = frozenset({"cluster-admin", "admin", "edit", "view"})

_VERSION = re.compile(r"\bv?(\d+\.\d+(?:\.\d+)?(?:-[0-9A-Za-z.]+)?)\b")


@dataclass
class BuiltinRBAC:
    """The bootstrap RBAC objects of one Kubernetes version (maybe none, with the reason)."""

    path: Path
    resources: list[Resource] = field(default_factory=list)
    version: str | None = None
    error: str | None = None
    enabled: bool = True

    @property
    def available(self) -> bool:
        return self.enabled and self.error is None

    @property
    def status(self) -> str:
        """One line for ``version`` and for the commands' notices."""
        if not self.enabled:
            return "not merged (--no-builtin-rbac)"
        if self.error is not None:
            return f"unavailable: {self.error}; bindings to Kubernetes' built-in roles resolve to nothing"
        version = f"Kubernetes {self.version}" if self.version else "an unnamed Kubernetes version"
        return f"{version} ({len(self.resources)} objects from {self.path.name})"


def parse_version(text: str) -> str | None:
    """The version named in the file's leading comment block (``v1.37.2``), if any."""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("#"):
            break
        match = _VERSION.search(stripped)
        if match:
            return "v" + match.group(1)
    return None


def _read_header(path: Path, limit: int = 4096) -> str:
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        return handle.read(limit)


@lru_cache(maxsize=8)
def _load(path: Path) -> BuiltinRBAC:
    if not path.is_file():
        return BuiltinRBAC(path, error=f"{path} is missing")
    try:
        version = parse_version(_read_header(path))
        loaded = load_paths([str(path)])
    except (OSError, InputError) as error:
        return BuiltinRBAC(path, error=f"{path} cannot be read ({error})")
    inventory = Inventory.from_objects(loaded.objects)
    resources = [
        r for r in inventory if r.group == RBAC_GROUP and r.kind in RBAC_KINDS
    ]
    if not resources:
        return BuiltinRBAC(path, version=version, error=f"{path} holds no RBAC objects")
    return BuiltinRBAC(path, resources, version)


def load_builtin(path: Path | str | None = None, enabled: bool = True) -> BuiltinRBAC:
    """The bootstrap RBAC set from ``path`` (default :data:`BOOTSTRAP_FILE`); cached."""
    target = Path(path) if path is not None else BOOTSTRAP_FILE
    if not enabled:
        return BuiltinRBAC(target, enabled=False)
    return _load(target.resolve())


def builtin_rbac_version(path: Path | str | None = None) -> str | None:
    """The Kubernetes version the built-in roles come from (``v1.37.2``), or ``None``.

    Reads only the file's header comment, so ``kube-auditor version`` stays fast.
    """
    target = Path(path) if path is not None else BOOTSTRAP_FILE
    try:
        return parse_version(_read_header(target))
    except OSError:
        return None


def builtin_rbac_summary(path: Path | str | None = None) -> str:
    """``Kubernetes v1.37.2 (bootstrap-rbac.yaml)`` or why there are no built-in roles."""
    target = Path(path) if path is not None else BOOTSTRAP_FILE
    if not target.is_file():
        return f"unavailable ({target} is missing)"
    version = builtin_rbac_version(target)
    return f"Kubernetes {version or '(version not named in the file header)'} ({target.name})"


def looks_bootstrap(resource: Resource) -> bool:
    """Labelled as a bootstrap object and named like one (used when no built-in set is loaded).

    The label alone is not trusted (anyone can set it): the name must also be one Kubernetes
    uses for its own roles and bindings.
    """
    if resource.labels.get(BOOTSTRAP_LABEL) != BOOTSTRAP_LABEL_VALUE:
        return False
    return resource.name.startswith("system:") or resource.name in USER_FACING_ROLES
