"""allowPrivilegeEscalation: setuid binaries and file capabilities can gain privileges
(restricted; v1.8, when the field appeared, and v1.25 exempting Windows pods).

Unlike most restricted fields this one has no pod-level form: every container must say
``allowPrivilegeEscalation: false`` itself; unset counts as allowed escalation.
"""

from __future__ import annotations

from ..podview import PodView
from ..result import Violation
from ..wording import containers_phrase

CHECK_ID = "allowPrivilegeEscalation"


def allow_privilege_escalation_v1_8(pod: PodView) -> Violation | None:
    """Require ``securityContext.allowPrivilegeEscalation: false`` on every container."""
    names = []
    paths = []
    for kind, index, name, sc, _ in pod.containers:
        if sc is None or sc.get("allowPrivilegeEscalation") is not False:
            names.append(name)
            paths.append(f"spec.{kind}[{index}].securityContext.allowPrivilegeEscalation")
    if not names:
        return None
    return Violation(
        CHECK_ID,
        "allowPrivilegeEscalation != false",
        f"{containers_phrase(names)} must set securityContext.allowPrivilegeEscalation=false",
        tuple(names),
        tuple(paths),
    )


def allow_privilege_escalation_v1_25(pod: PodView) -> Violation | None:
    """As v1.8, but Windows pods are exempt (the field is Linux-only)."""
    if pod.is_windows:
        return None
    return allow_privilege_escalation_v1_8(pod)
