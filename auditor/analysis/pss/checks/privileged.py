"""privileged: privileged containers disable nearly every isolation mechanism (baseline, v1.0)."""

from __future__ import annotations

from ..podview import PodView
from ..result import Violation
from ..wording import containers_phrase

CHECK_ID = "privileged"


def privileged_v1_0(pod: PodView) -> Violation | None:
    """Forbid ``securityContext.privileged: true`` on any container."""
    names = []
    paths = []
    for kind, index, name, sc, _ in pod.containers:
        if sc is not None and sc.get("privileged") is True:
            names.append(name)
            paths.append(f"spec.{kind}[{index}].securityContext.privileged")
    if not names:
        return None
    return Violation(
        CHECK_ID,
        "privileged",
        f"{containers_phrase(names)} must not set securityContext.privileged=true",
        tuple(names),
        tuple(paths),
    )
