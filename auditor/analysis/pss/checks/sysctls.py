"""sysctls: kernel parameters outside the namespaced, pod-isolated "safe" set (baseline).

The safe set only grows: v1.27, v1.29, v1.32 and v1.37 each add names. Sysctls can only
be set at pod level (``spec.securityContext.sysctls``).
"""

from __future__ import annotations

from ..podview import PodView, as_dict, as_list, as_text
from ..result import Violation

CHECK_ID = "sysctls"

SAFE_SYSCTLS_V1_0 = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_unprivileged_port_start",
    }
)
SAFE_SYSCTLS_V1_27 = SAFE_SYSCTLS_V1_0 | {"net.ipv4.ip_local_reserved_ports"}
SAFE_SYSCTLS_V1_29 = SAFE_SYSCTLS_V1_27 | {
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}
SAFE_SYSCTLS_V1_32 = SAFE_SYSCTLS_V1_29 | {"net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"}
SAFE_SYSCTLS_V1_37 = SAFE_SYSCTLS_V1_32 | {
    "net.ipv4.tcp_slow_start_after_idle",
    "net.ipv4.tcp_notsent_lowat",
}


def _check(pod: PodView, safe: frozenset[str]) -> Violation | None:
    sc = pod.pod_sc
    if sc is None:
        return None
    sysctls = sc.get("sysctls")
    if not sysctls:
        return None
    names = []
    paths = []
    for index, sysctl in enumerate(as_list(sysctls)):
        sysctl = as_dict(sysctl)
        name = "" if sysctl is None else as_text(sysctl.get("name"))
        if name not in safe:
            names.append(name)
            paths.append(f"spec.securityContext.sysctls[{index}].name")
    if not names:
        return None
    return Violation(CHECK_ID, "forbidden sysctls", ", ".join(names), (), tuple(paths))


def sysctls_v1_0(pod: PodView) -> Violation | None:
    """Allow the five original safe sysctls."""
    return _check(pod, SAFE_SYSCTLS_V1_0)


def sysctls_v1_27(pod: PodView) -> Violation | None:
    """Also allow net.ipv4.ip_local_reserved_ports."""
    return _check(pod, SAFE_SYSCTLS_V1_27)


def sysctls_v1_29(pod: PodView) -> Violation | None:
    """Also allow the tcp_keepalive_* and tcp_fin_timeout sysctls."""
    return _check(pod, SAFE_SYSCTLS_V1_29)


def sysctls_v1_32(pod: PodView) -> Violation | None:
    """Also allow net.ipv4.tcp_rmem and net.ipv4.tcp_wmem."""
    return _check(pod, SAFE_SYSCTLS_V1_32)


def sysctls_v1_37(pod: PodView) -> Violation | None:
    """Also allow net.ipv4.tcp_slow_start_after_idle and net.ipv4.tcp_notsent_lowat."""
    return _check(pod, SAFE_SYSCTLS_V1_37)
