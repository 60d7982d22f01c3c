"""windowsHostProcess: Windows HostProcess containers run as the node (baseline, v1.0)."""

from __future__ import annotations

from ..podview import PodView, as_dict
from ..result import Violation
from ..wording import containers_phrase

CHECK_ID = "windowsHostProcess"


def _host_process(sc: dict | None) -> bool:
    if sc is None:
        return False
    options = as_dict(sc.get("windowsOptions"))
    return options is not None and options.get("hostProcess") is True


def windows_host_process_v1_0(pod: PodView) -> Violation | None:
    """Forbid ``windowsOptions.hostProcess: true`` on the pod or any container."""
    setters = []
    paths = []
    if _host_process(pod.pod_sc):
        setters.append("pod")
        paths.append("spec.securityContext.windowsOptions.hostProcess")
    names = []
    for kind, index, name, sc, _ in pod.containers:
        if _host_process(sc):
            names.append(name)
            paths.append(f"spec.{kind}[{index}].securityContext.windowsOptions.hostProcess")
    if names:
        setters.append(containers_phrase(names))
    if not setters:
        return None
    return Violation(
        CHECK_ID,
        "hostProcess",
        f"{' and '.join(setters)} must not set securityContext.windowsOptions.hostProcess=true",
        tuple(names),
        tuple(paths),
    )
