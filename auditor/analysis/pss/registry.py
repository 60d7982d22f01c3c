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

from .checks import (
    apparmor,
    capabilities,
    host_namespaces,
    host_ports,
    host_probes,
    privilege_escalation,
    privileged,
    proc_mount,
    run_as,
    seccomp,
    selinux,
    sysctls,
    volumes,
    windows_host_process,
)
from .levels import NEWEST_MINOR, Level
from .podview import PodView
from .result import Violation

CheckFunction = Callable[[PodView], "Violation | None"]


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
    CheckInfo(
        apparmor.CHECK_ID,
        _B,
        "AppArmor profile type or annotation other than RuntimeDefault/Localhost",
        (Revision(0, apparmor.app_armor_profile_v1_0),),
    ),
    CheckInfo(
        capabilities.BASELINE_CHECK_ID,
        _B,
        "Adding capabilities beyond the runtime default set (e.g. NET_RAW, SYS_ADMIN)",
        (Revision(0, capabilities.capabilities_baseline_v1_0),),
    ),
    CheckInfo(
        host_namespaces.CHECK_ID,
        _B,
        "Sharing the host network, PID or IPC namespace",
        (Revision(0, host_namespaces.host_namespaces_v1_0),),
    ),
    CheckInfo(
        volumes.HOST_PATH_CHECK_ID,
        _B,
        "hostPath volumes",
        (Revision(0, volumes.host_path_volumes_v1_0),),
    ),
    CheckInfo(
        host_ports.CHECK_ID,
        _B,
        "Container ports bound to a hostPort",
        (Revision(0, host_ports.host_ports_v1_0),),
    ),
    CheckInfo(
        host_probes.CHECK_ID,
        _B,
        "A host in httpGet/tcpSocket probes or lifecycle handlers",
        (Revision(34, host_probes.host_probes_v1_34),),
    ),
    CheckInfo(
        privileged.CHECK_ID,
        _B,
        "Privileged containers",
        (Revision(0, privileged.privileged_v1_0),),
    ),
    CheckInfo(
        proc_mount.BASELINE_CHECK_ID,
        _B,
        "A procMount other than Default",
        (
            Revision(0, proc_mount.proc_mount_v1_0),
            Revision(
                35,
                proc_mount.proc_mount_v1_35,
                change="any procMount allowed with hostUsers: false",
            ),
        ),
    ),
    CheckInfo(
        selinux.CHECK_ID,
        _B,
        "SELinux types other than the container_* types, or any SELinux user or role",
        (
            Revision(0, selinux.se_linux_options_v1_0),
            Revision(31, selinux.se_linux_options_v1_31, change="container_engine_t allowed"),
        ),
    ),
    CheckInfo(
        seccomp.BASELINE_CHECK_ID,
        _B,
        "A seccomp profile other than RuntimeDefault or Localhost, e.g. Unconfined"
        " (alpha annotations before v1.19, fields from v1.19)",
        (
            Revision(0, seccomp.seccomp_profile_baseline_v1_0),
            Revision(
                19,
                seccomp.seccomp_profile_baseline_v1_19,
                change="securityContext.seccompProfile fields replace the annotations",
            ),
        ),
    ),
    CheckInfo(
        sysctls.CHECK_ID,
        _B,
        "Sysctls outside the safe, namespaced set",
        (
            Revision(0, sysctls.sysctls_v1_0),
            Revision(27, sysctls.sysctls_v1_27, change="net.ipv4.ip_local_reserved_ports allowed"),
            Revision(
                29,
                sysctls.sysctls_v1_29,
                change="tcp_keepalive_time/_intvl/_probes, tcp_fin_timeout allowed",
            ),
            Revision(32, sysctls.sysctls_v1_32, change="net.ipv4.tcp_rmem, tcp_wmem allowed"),
            Revision(
                37,
                sysctls.sysctls_v1_37,
                change="tcp_slow_start_after_idle, tcp_notsent_lowat allowed",
            ),
        ),
    ),
    CheckInfo(
        windows_host_process.CHECK_ID,
        _B,
        "Windows HostProcess pods or containers",
        (Revision(0, windows_host_process.windows_host_process_v1_0),),
    ),
    CheckInfo(
        privilege_escalation.CHECK_ID,
        _R,
        "Containers not setting allowPrivilegeEscalation: false",
        (
            Revision(8, privilege_escalation.allow_privilege_escalation_v1_8),
            Revision(
                25,
                privilege_escalation.allow_privilege_escalation_v1_25,
                change="Windows pods exempt",
            ),
        ),
    ),
    CheckInfo(
        capabilities.RESTRICTED_CHECK_ID,
        _R,
        "Containers not dropping ALL capabilities, or adding any but NET_BIND_SERVICE",
        (
            Revision(
                22,
                capabilities.capabilities_restricted_v1_22,
                overrides=(capabilities.BASELINE_CHECK_ID,),
            ),
            Revision(
                25,
                capabilities.capabilities_restricted_v1_25,
                overrides=(capabilities.BASELINE_CHECK_ID,),
                change="Windows pods exempt",
            ),
        ),
    ),
    CheckInfo(
        proc_mount.RESTRICTED_CHECK_ID,
        _R,
        "A procMount other than Default, even with hostUsers: false",
        (
            Revision(
                35,
                proc_mount.proc_mount_restricted_v1_35,
                overrides=(proc_mount.BASELINE_CHECK_ID,),
            ),
        ),
    ),
    CheckInfo(
        volumes.RESTRICTED_CHECK_ID,
        _R,
        "Volume types other than configMap, csi, downwardAPI, emptyDir, ephemeral, image,"
        " persistentVolumeClaim, projected, secret",
        (Revision(0, volumes.restricted_volumes_v1_0, overrides=(volumes.HOST_PATH_CHECK_ID,)),),
    ),
    CheckInfo(
        run_as.NON_ROOT_CHECK_ID,
        _R,
        "Pods or containers not required to run as non-root",
        (
            Revision(0, run_as.run_as_non_root_v1_0),
            Revision(35, run_as.run_as_non_root_v1_35, change="pods with hostUsers: false exempt"),
        ),
    ),
    CheckInfo(
        run_as.USER_CHECK_ID,
        _R,
        "runAsUser: 0 on the pod or a container",
        (
            Revision(23, run_as.run_as_user_v1_23),
            Revision(35, run_as.run_as_user_v1_35, change="pods with hostUsers: false exempt"),
        ),
    ),
    CheckInfo(
        seccomp.RESTRICTED_CHECK_ID,
        _R,
        "No RuntimeDefault or Localhost seccomp profile on the pod or on every container",
        (
            Revision(
                19, seccomp.seccomp_profile_restricted_v1_19, overrides=(seccomp.BASELINE_CHECK_ID,)
            ),
            Revision(
                25,
                seccomp.seccomp_profile_restricted_v1_25,
                overrides=(seccomp.BASELINE_CHECK_ID,),
                change="Windows pods exempt",
            ),
        ),
    ),
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
