"""A tolerant, one-pass view of a pod as plain dicts, so checks never touch raw YAML.

Manifests arrive as whatever YAML produced: fields may be missing, ``null``, or of the
wrong type. The rule here is the one the Kubernetes decoder approximates: a value of
the wrong type reads as *absent* (Go's nil / zero value). A missing securityContext
and a ``securityContext: "oops"`` therefore mean the same thing, which keeps every
check's semantics ("unset is allowed" or "unset is a violation") in one place and
means malformed input can never raise.

Containers are listed once, in PSA's visiting order (init, regular, ephemeral), as
``(kind, index, name, securityContext, container)`` tuples; a container's field path
is ``spec.<kind>[<index>]``. Tuples rather than objects
because evaluating one pod walks them a dozen times and attribute access would cost.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: The three container lists of a pod spec, in the order PSA visits them.
CONTAINER_KINDS = ("initContainers", "containers", "ephemeralContainers")

_EMPTY: dict = {}

#: ``(kind, index, name, securityContext or None, container dict)``
ContainerEntry = tuple[str, int, str, "dict | None", dict]


def as_dict(value: Any) -> dict | None:
    """``value`` if it is a mapping, else ``None`` (absent)."""
    if type(value) is dict:
        return value
    if value is None:
        return None
    if isinstance(value, dict):  # e.g. a loader's line-tracking dict subclass
        return value
    if isinstance(value, Mapping):
        return dict(value)
    return None


def as_list(value: Any) -> list | tuple:
    """``value`` if it is a list or tuple, else an empty tuple (absent)."""
    if type(value) is list or type(value) is tuple or isinstance(value, (list, tuple)):
        return value
    return ()


def as_text(value: Any) -> str:
    """A string field as Go would hold it: ``None`` is ``""``; other scalars are stringified."""
    if type(value) is str:
        return value
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def profile_type(sc: dict | None, field: str) -> str | None:
    """``sc[field].type`` of a profile object (seccompProfile, appArmorProfile).

    None when no profile is set; ``""`` when a profile is set without a type, which is
    how PSA sees (and rejects) it.
    """
    if sc is None:
        return None
    profile = as_dict(sc.get(field))
    if profile is None:
        return None
    return as_text(profile.get("type"))


def is_int_zero(value: Any) -> bool:
    """True for the integer 0 (not ``False``, which YAML would give for ``false``)."""
    return isinstance(value, int) and not isinstance(value, bool) and value == 0


class PodView:
    """What checks read: annotations, spec, pod securityContext and the container list."""

    __slots__ = ("annotations", "containers", "host_users_false", "is_windows", "pod_sc", "spec")

    def __init__(self, metadata: Any, spec: Any) -> None:
        metadata = as_dict(metadata) or _EMPTY
        self.annotations: dict = as_dict(metadata.get("annotations")) or _EMPTY
        spec = as_dict(spec) or _EMPTY
        self.spec: dict = spec
        self.pod_sc: dict | None = as_dict(spec.get("securityContext"))
        entries: list[ContainerEntry] = []
        for kind in CONTAINER_KINDS:
            items = spec.get(kind)
            if not items:
                continue
            items = as_list(items)
            for index, container in enumerate(items):
                if type(container) is not dict:
                    container = as_dict(container) or _EMPTY
                name = container.get("name")
                if type(name) is not str:
                    name = as_text(name)
                sc = container.get("securityContext")
                if type(sc) is not dict:
                    sc = as_dict(sc)
                entries.append((kind, index, name, sc, container))
        self.containers: list[ContainerEntry] = entries
        #: ``spec.hostUsers: false``: the pod runs in its own user namespace.
        self.host_users_false: bool = spec.get("hostUsers") is False
        pod_os = spec.get("os")
        #: ``spec.os.name: windows``: Linux-only restricted checks exempt such pods from v1.25.
        self.is_windows: bool = (
            pod_os is not None and (as_dict(pod_os) or _EMPTY).get("name") == "windows"
        )

    def pod_sc_field(self, key: str) -> Any:
        """A field of ``spec.securityContext``, or ``None``."""
        sc = self.pod_sc
        return None if sc is None else sc.get(key)
