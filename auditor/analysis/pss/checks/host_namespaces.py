"""hostNamespaces: sharing the node's network, PID or IPC namespace (baseline, v1.0)."""

from __future__ import annotations

from ..podview import PodView
from ..result import Violation

CHECK_ID = "hostNamespaces"

# PSA reports them in this order.
_HOST_NAMESPACE_FIELDS = ("hostNetwork", "hostPID", "hostIPC")


def host_namespaces_v1_0(pod: PodView) -> Violation | None:
    """Forbid ``hostNetwork``, ``hostPID`` and ``hostIPC`` set to true."""
    spec = pod.spec
    set_fields = [name for name in _HOST_NAMESPACE_FIELDS if spec.get(name) is True]
    if not set_fields:
        return None
    return Violation(
        CHECK_ID,
        "host namespaces",
        ", ".join(f"{name}=true" for name in set_fields),
        (),
        tuple(f"spec.{name}" for name in set_fields),
    )
