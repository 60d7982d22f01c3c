"""procMount (baseline; v1.0, v1.35) and procMount_restricted (restricted, v1.35).

An ``Unmasked`` /proc exposes kernel interfaces the default masks hide. From v1.35
baseline tolerates any procMount in a user-namespaced pod (``hostUsers: false``), where
/proc belongs to the pod's own namespace; restricted keeps the unconditional rule by
overriding the baseline check with ``procMount_restricted``.
"""

from __future__ import annotations

from ..podview import PodView, as_text
from ..result import Violation
from ..wording import containers_phrase, join_quote

BASELINE_CHECK_ID = "procMount"
RESTRICTED_CHECK_ID = "procMount_restricted"


def _unconditional(pod: PodView, check_id: str) -> Violation | None:
    names = []
    types: set[str] = set()
    paths = []
    for kind, index, name, sc, _ in pod.containers:
        if sc is None:
            continue
        proc_mount = sc.get("procMount")
        if proc_mount is None:
            continue
        proc_mount = as_text(proc_mount)
        if proc_mount != "Default":
            names.append(name)
            types.add(proc_mount)
            paths.append(f"spec.{kind}[{index}].securityContext.procMount")
    if not names:
        return None
    return Violation(
        check_id,
        "procMount",
        f"{containers_phrase(names)} must not set securityContext.procMount to "
        f"{join_quote(sorted(types))}",
        tuple(names),
        tuple(paths),
    )


def proc_mount_v1_0(pod: PodView) -> Violation | None:
    """Allow only an unset or ``Default`` procMount, unconditionally."""
    return _unconditional(pod, BASELINE_CHECK_ID)


def proc_mount_v1_35(pod: PodView) -> Violation | None:
    """As v1.0, but any procMount is allowed when ``hostUsers: false``."""
    if pod.host_users_false:
        return None
    return proc_mount_v1_0(pod)


def proc_mount_restricted_v1_35(pod: PodView) -> Violation | None:
    """The v1.0 rule, kept unconditional for restricted pods."""
    return _unconditional(pod, RESTRICTED_CHECK_ID)
