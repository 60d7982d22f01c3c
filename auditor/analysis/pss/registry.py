"""The catalogue of Pod Security checks and which revision of each applies at a version.

Mirrors upstream's registry rules:

* a check's revision applies from its ``since`` minor until the next revision;
* baseline runs every baseline check; restricted runs every baseline check *except*
  those overridden by an active restricted revision, then every restricted check;
* within a level, checks run in sorted id order, baseline ids first. That order is
  the order of reasons in PSA's denial message, so it is part of the output.

The resolved ``(id, function)`` list for every level and minor is computed once at
import; evaluation is a dict lookup.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .checks.apparmor import app_armor_profile_v1_0
from .checks.capabilities import (
    capabilities_baseline_v1_0,
    capabilities_restricted_v1_22,
    capabilities_restricted_v1_25,
)
from .checks.host_namespaces import host_namespaces_v1_0
from .checks.host_ports import host_ports_v1_0
from .checks.host_probes import host_probes_v1_34
from .checks.privilege_escalation import (
    allow_privilege_escalation_v1_8,
    allow_privilege_escalation_v1_25,
)
from .checks.privileged import privileged_v1_0
from .checks.proc_mount import proc_mount_restricted_v1_35, proc_mount_v1_0, proc_mount_v1_35
from .checks.run_as import (
    run_as_non_root_v1_0,
    run_as_non_root_v1_35,
    run_as_user_v1_23,
    run_as_user_v1_35,
)
from .checks.seccomp import (
    seccomp_profile_baseline_v1_0,
    seccomp_profile_baseline_v1_19,
    seccomp_profile_restricted_v1_19,
    seccomp_profile_restricted_v1_25,
)
from .checks.selinux import se_linux_options_v1_0, se_linux_options_v1_31
from .checks.sysctls import sysctls_v1_0, sysctls_v1_27, sysctls_v1_29, sysctls_v1_32, sysctls_v1_37
from .checks.volumes import host_path_volumes_v1_0, restricted_volumes_v1_0
from .checks.windows_host_process import windows_host_process_v1_0
from .levels import NEWEST_MINOR, Level
from .podview import PodView
from .result import Forbidden

CheckFunction = Callable[[PodView], "Forbidden | None"]


@dataclass(frozen=True)
class Revision:
    """One upstream revision of a check: applies from policy ``v1.<since>`` on."""

    since: int
    evaluate: CheckFunction
    overrides: tuple[str, ...] = ()
    change: str = ""

    @property
    def since_version(self) -> str:
        return f"v1.{self.since}"


@dataclass(frozen=True)
class CheckInfo:
    """A Pod Security check: upstream id, level, revisions and a one-line description."""

    id: str
    level: Level
    description: str
    revisions: tuple[Revision, ...]

    @property
    def since(self) -> int:
        """First policy minor version the check applies at."""
        return self.revisions[0].since

    @property
    def since_version(self) -> str:
        return f"v1.{self.since}"

    def revision_at(self, minor: int) -> Revision | None:
        """The revision in force at policy ``v1.<minor>``, or None before the check existed."""
        current = None
        for revision in self.revisions:
            if revision.since <= minor:
                current = revision
        return current


_B, _R = Level.BASELINE, Level.RESTRICTED

#: Every check, baseline then restricted. Descriptions say what the check forbids.
CHECKS: tuple[CheckInfo, ...] = (
    CheckInfo("appArmorProfile", _B, "AppArmor profile type or annotation other than RuntimeDefault/Localhost (runtime/default, localhost/*)", (
        Revision(0, app_armor_profile_v1_0),
    )),
    CheckInfo("capabilities_baseline", _B, "Adding capabilities beyond the runtime default set (e.g. NET_RAW, SYS_ADMIN)", (
        Revision(0, capabilities_baseline_v1_0),
    )),
    CheckInfo("hostNamespaces", _B, "Sharing the host network, PID or IPC namespace", (
        Revision(0, host_namespaces_v1_0),
    )),
    CheckInfo("hostPathVolumes", _B, "hostPath volumes", (
        Revision(0, host_path_volumes_v1_0),
    )),
    CheckInfo("hostPorts", _B, "Container ports bound to a hostPort", (
        Revision(0, host_ports_v1_0),
    )),
    CheckInfo("hostProbesAndHostLifecycle", _B, "A host in httpGet/tcpSocket probes or lifecycle handlers", (
        Revision(34, host_probes_v1_34),
    )),
    CheckInfo("privileged", _B, "Privileged containers", (
        Revision(0, privileged_v1_0),
    )),
    CheckInfo("procMount", _B, "A procMount other than Default (allowed with hostUsers: false from v1.35)", (
        Revision(0, proc_mount_v1_0),
        Revision(35, proc_mount_v1_35, change="any procMount allowed when hostUsers is false"),
    )),
    CheckInfo("seLinuxOptions", _B, "SELinux types other than the container_* types, or any SELinux user or role", (
        Revision(0, se_linux_options_v1_0),
        Revision(31, se_linux_options_v1_31, change="container_engine_t allowed"),
    )),
    CheckInfo("seccompProfile_baseline", _B, "An Unconfined seccomp profile (alpha annotations before v1.19, fields after)", (
        Revision(0, seccomp_profile_baseline_v1_0),
        Revision(19, seccomp_profile_baseline_v1_19, change="securityContext.seccompProfile fields instead of annotations"),
    )),
    CheckInfo("sysctls", _B, "Sysctls outside the safe, namespaced set", (
        Revision(0, sysctls_v1_0),
        Revision(27, sysctls_v1_27, change="net.ipv4.ip_local_reserved_ports allowed"),
        Revision(29, sysctls_v1_29, change="tcp_keepalive_time/intvl/probes and tcp_fin_timeout allowed"),
        Revision(32, sysctls_v1_32, change="net.ipv4.tcp_rmem and tcp_wmem allowed"),
        Revision(37, sysctls_v1_37, change="tcp_slow_start_after_idle and tcp_notsent_lowat allowed"),
    )),
    CheckInfo("windowsHostProcess", _B, "Windows HostProcess pods or containers", (
        Revision(0, windows_host_process_v1_0),
    )),
    CheckInfo("allowPrivilegeEscalation", _R, "Containers not setting allowPrivilegeEscalation: false", (
        Revision(8, allow_privilege_escalation_v1_8),
        Revision(25, allow_privilege_escalation_v1_25, change="Windows pods exempt"),
    )),
    CheckInfo("capabilities_restricted", _R, "Containers not dropping ALL capabilities, or adding any but NET_BIND_SERVICE", (
        Revision(22, capabilities_restricted_v1_22, overrides=("capabilities_baseline",)),
        Revision(25, capabilities_restricted_v1_25, overrides=("capabilities_baseline",), change="Windows pods exempt"),
    )),
    CheckInfo("procMount_restricted", _R, "A procMount other than Default, even with hostUsers: false", (
        Revision(35, proc_mount_restricted_v1_35, overrides=("procMount",)),
    )),
    CheckInfo("restrictedVolumes", _R, "Volume types other than configMap, csi, downwardAPI, emptyDir, ephemeral, image, persistentVolumeClaim, projected, secret", (
        Revision(0, restricted_volumes_v1_0, overrides=("hostPathVolumes",)),
    )),
    CheckInfo("runAsNonRoot", _R, "Pods or containers not required to run as non-root (hostUsers: false exempt from v1.35)", (
        Revision(0, run_as_non_root_v1_0),
        Revision(35, run_as_non_root_v1_35, change="pods with hostUsers: false exempt"),
    )),
    CheckInfo("runAsUser", _R, "runAsUser: 0 on the pod or a container (hostUsers: false exempt from v1.35)", (
        Revision(23, run_as_user_v1_23),
        Revision(35, run_as_user_v1_35, change="pods with hostUsers: false exempt"),
    )),
    CheckInfo("seccompProfile_restricted", _R, "No RuntimeDefault or Localhost seccomp profile on the pod or every container", (
        Revision(19, seccomp_profile_restricted_v1_19, overrides=("seccompProfile_baseline",)),
        Revision(25, seccomp_profile_restricted_v1_25, overrides=("seccompProfile_baseline",), change="Windows pods exempt"),
    )),
)

CHECKS_BY_ID: dict[str, CheckInfo] = {check.id: check for check in CHECKS}

#: ``(check id, revision function)`` pairs in PSA's order.
ResolvedChecks = tuple[tuple[str, CheckFunction], ...]


def _resolve(level: Level, minor: int) -> ResolvedChecks:
    active = {}
    for check in CHECKS:
        revision = check.revision_at(minor)
        if revision is not None:
            active[check.id] = (check, revision)
    if level is Level.BASELINE:
        chosen = [entry for entry in active.values() if entry[0].level is Level.BASELINE]
    else:
        overridden = {
            check_id
            for check, revision in active.values()
            if check.level is Level.RESTRICTED
            for check_id in revision.overrides
        }
        chosen = [entry for entry in active.values() if entry[0].id not in overridden]
    level_rank = {Level.BASELINE: 0, Level.RESTRICTED: 1}
    chosen.sort(key=lambda entry: (level_rank[entry[0].level], entry[0].id))
    return tuple((check.id, revision.evaluate) for check, revision in chosen)


_RESOLVED: dict[tuple[Level, int], ResolvedChecks] = {
    (level, minor): _resolve(level, minor)
    for level in (Level.BASELINE, Level.RESTRICTED)
    for minor in range(NEWEST_MINOR + 1)
}


def resolved_checks(level: Level, minor: int) -> ResolvedChecks:
    """The checks PSA runs at ``level`` and policy ``v1.<minor>`` (privileged: none)."""
    if level is Level.PRIVILEGED:
        return ()
    return _RESOLVED[(level, min(minor, NEWEST_MINOR))]
