"""What a PodSecurityPolicy lets pods do that it should not: one function per rule.

Each check takes a :class:`~.model.PSP` and returns the problem in words (``None`` when the
policy is fine on that point). The words name the field and its value, so a finding says
exactly what to change.
"""

from __future__ import annotations

from collections.abc import Callable

from .model import PSP

#: Capabilities that break the container boundary or the node's network, and the default
#: list of the capabilities rule (the pack may give its own).
DANGEROUS_CAPABILITIES = (
    "SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE", "SYS_MODULE", "DAC_READ_SEARCH", "NET_RAW",
    "SYS_RAWIO", "SYS_BOOT", "SYS_TIME", "MAC_ADMIN", "MAC_OVERRIDE", "BPF", "PERFMON",
    "SYSLOG", "LINUX_IMMUTABLE", "AUDIT_CONTROL",
)


def _normal(capability: str) -> str:
    name = capability.upper()
    return name[4:] if name.startswith("CAP_") else name


def privileged(psp: PSP, **_: object) -> str | None:
    if psp.privileged:
        return "allows privileged containers (privileged: true)"
    return None


def host_namespaces(psp: PSP, **_: object) -> str | None:
    shared = [name for name, on in (
        ("hostNetwork", psp.host_network), ("hostPID", psp.host_pid), ("hostIPC", psp.host_ipc),
    ) if on]
    if shared:
        return "allows pods in the node's namespaces (" + ", ".join(f"{n}: true" for n in shared) + ")"
    return None


def host_ports(psp: PSP, **_: object) -> str | None:
    ranges = psp.host_ports_allowed
    if ranges:
        return "allows containers to bind host ports (hostPorts: " + ", ".join(str(r) for r in ranges) + ")"
    return None


def privilege_escalation(psp: PSP, **_: object) -> str | None:
    if not psp.allow_privilege_escalation:
        return None
    how = "true" if psp.allow_privilege_escalation_set else "unset, which defaults to true"
    return f"allows privilege escalation (allowPrivilegeEscalation: {how}): setuid binaries and file capabilities can raise a process's privileges"


def capabilities(psp: PSP, dangerous: tuple[str, ...] = DANGEROUS_CAPABILITIES, **_: object) -> str | None:
    if "*" in psp.allowed_capabilities:
        return "allows containers to add every capability (allowedCapabilities: ['*'])"
    wanted = {_normal(c) for c in dangerous}
    found = [c for c in dict.fromkeys(psp.allowed_capabilities + psp.default_add_capabilities) if _normal(c) in wanted]
    if found:
        where = []
        allowed = [c for c in found if c in psp.allowed_capabilities]
        added = [c for c in found if c in psp.default_add_capabilities]
        if allowed:
            where.append(f"allowedCapabilities: {', '.join(allowed)}")
        if added:
            where.append(f"defaultAddCapabilities: {', '.join(added)}")
        return "allows dangerous capabilities (" + "; ".join(where) + ")"
    return None


def default_add_capabilities(psp: PSP, **_: object) -> str | None:
    if psp.default_add_capabilities:
        return (
            "adds capabilities to every container that does not drop them (defaultAddCapabilities: "
            + ", ".join(psp.default_add_capabilities) + ")"
        )
    return None


def host_path_any(psp: PSP, **_: object) -> str | None:
    if not psp.host_path_allowed or psp.allowed_host_paths:
        return None
    volumes = "'*'" if "*" in psp.volumes else "hostPath"
    return (
        f"allows hostPath volumes on any path of the node (volumes include {volumes}, and no "
        "allowedHostPaths limits them)"
    )


def host_path_writable(psp: PSP, **_: object) -> str | None:
    if not psp.host_path_allowed or not psp.allowed_host_paths:
        return None
    writable = [p.prefix for p in psp.allowed_host_paths if not p.read_only]
    if writable:
        return "allows writable hostPath mounts (allowedHostPaths without readOnly: true: " + ", ".join(writable) + ")"
    return None


def run_as_root(psp: PSP, **_: object) -> str | None:
    strategy = psp.run_as_user
    if strategy is None or strategy.rule in (None, "RunAsAny"):
        return "allows containers to run as root (runAsUser rule: " + (
            "RunAsAny)" if strategy is not None and strategy.rule else "unset)"
        )
    if strategy.rule == "MustRunAs":
        zero = [r for r in strategy.ranges if r.includes(0)]
        if zero:
            return "allows containers to run as root (runAsUser MustRunAs ranges include 0: " + ", ".join(str(r) for r in zero) + ")"
    return None


def selinux_any(psp: PSP, **_: object) -> str | None:
    if psp.selinux_rule in (None, "RunAsAny"):
        return (
            "allows any SELinux context (seLinux rule: " + (psp.selinux_rule or "unset")
            + "), including unconfined types such as spc_t"
        )
    return None


def writable_root(psp: PSP, **_: object) -> str | None:
    if psp.read_only_root_filesystem:
        return None
    return "allows writable root filesystems (readOnlyRootFilesystem is not true)"


def unsafe_sysctls(psp: PSP, **_: object) -> str | None:
    if psp.allowed_unsafe_sysctls:
        return "allows unsafe sysctls (allowedUnsafeSysctls: " + ", ".join(psp.allowed_unsafe_sysctls) + ")"
    return None


CHECKS: dict[str, Callable[..., str | None]] = {
    "privileged": privileged,
    "host_namespaces": host_namespaces,
    "host_ports": host_ports,
    "privilege_escalation": privilege_escalation,
    "capabilities": capabilities,
    "default_add_capabilities": default_add_capabilities,
    "host_path_any": host_path_any,
    "host_path_writable": host_path_writable,
    "run_as_root": run_as_root,
    "selinux_any": selinux_any,
    "writable_root": writable_root,
    "unsafe_sysctls": unsafe_sysctls,
}
