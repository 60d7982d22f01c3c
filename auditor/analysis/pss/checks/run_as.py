"""runAsNonRoot (restricted; v1.0, v1.35) and runAsUser (restricted; v1.23, v1.35).

Containers inherit the pod's securityContext, so ``runAsNonRoot: true`` may be set once
on the pod; a container that explicitly says ``false`` still fails. From v1.35 both
checks skip pods with ``hostUsers: false``: in a user namespace, root in the container
is an unprivileged user on the node.
"""

from __future__ import annotations

from ..podview import PodView, is_int_zero
from ..result import Violation
from ..wording import containers_phrase

NON_ROOT_CHECK_ID = "runAsNonRoot"
USER_CHECK_ID = "runAsUser"


def run_as_non_root_v1_0(pod: PodView) -> Violation | None:
    """Require runAsNonRoot=true on the pod or on every container; forbid an explicit false."""
    setters = []
    paths = []
    pod_value = pod.pod_sc_field("runAsNonRoot")
    pod_non_root = False
    if pod_value is False:
        setters.append("pod")
        paths.append("spec.securityContext.runAsNonRoot")
    elif pod_value is True:
        pod_non_root = True

    explicit = []
    implicit = []
    implicit_paths = []
    for kind, index, name, sc, _ in pod.containers:
        value = None if sc is None else sc.get("runAsNonRoot")
        if value is False:
            explicit.append(name)
            paths.append(f"spec.{kind}[{index}].securityContext.runAsNonRoot")
        elif value is not True and not pod_non_root:
            implicit.append(name)
            implicit_paths.append(f"spec.{kind}[{index}].securityContext.runAsNonRoot")

    if explicit:
        setters.append(containers_phrase(explicit))
    if setters:
        return Violation(
            NON_ROOT_CHECK_ID,
            "runAsNonRoot != true",
            f"{' and '.join(setters)} must not set securityContext.runAsNonRoot=false",
            tuple(explicit),
            tuple(paths),
        )
    if implicit:
        return Violation(
            NON_ROOT_CHECK_ID,
            "runAsNonRoot != true",
            f"pod or {containers_phrase(implicit)} must set securityContext.runAsNonRoot=true",
            tuple(implicit),
            tuple(implicit_paths),
        )
    return None


def run_as_non_root_v1_35(pod: PodView) -> Violation | None:
    """As v1.0, skipped for user-namespaced pods (``hostUsers: false``)."""
    if pod.host_users_false:
        return None
    return run_as_non_root_v1_0(pod)


def run_as_user_v1_23(pod: PodView) -> Violation | None:
    """Forbid runAsUser=0 on the pod or any container (unset is allowed)."""
    setters = []
    paths = []
    if is_int_zero(pod.pod_sc_field("runAsUser")):
        setters.append("pod")
        paths.append("spec.securityContext.runAsUser")
    names = []
    for kind, index, name, sc, _ in pod.containers:
        if sc is not None and is_int_zero(sc.get("runAsUser")):
            names.append(name)
            paths.append(f"spec.{kind}[{index}].securityContext.runAsUser")
    if names:
        setters.append(containers_phrase(names))
    if not setters:
        return None
    return Violation(
        USER_CHECK_ID,
        "runAsUser=0",
        f"{' and '.join(setters)} must not set runAsUser=0",
        tuple(names),
        tuple(paths),
    )


def run_as_user_v1_35(pod: PodView) -> Violation | None:
    """As v1.23, skipped for user-namespaced pods (``hostUsers: false``)."""
    if pod.host_users_false:
        return None
    return run_as_user_v1_23(pod)
