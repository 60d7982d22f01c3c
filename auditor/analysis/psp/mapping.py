"""PodSecurityPolicy → Pod Security Standards, field by field.

Follows the Kubernetes reference page "Mapping PodSecurityPolicies to Pod Security
Standards" row by row: for each PSP field (and the two profile annotations), the values that
stay within the Baseline and the Restricted profiles; anything else falls under Privileged,
and "no opinion" fields never lower the level. A PSP maps to the **strictest level whose
rules it still enforces**: every pod the PSP admits is admitted by that level, so labelling
its namespaces with that level rejects nothing the PSP let through.

Where the page leaves room, the choice and its reason:

* ``seccomp…/allowedProfileNames`` absent: the PSP seccomp strategy then refuses any
  profile ("seccomp may not be set"), so pods run with none, which Baseline allows and
  Restricted does not: Baseline.
* ``apparmor…/allowedProfileNames`` absent: the PSP AppArmor strategy allows every profile,
  ``unconfined`` included: Privileged, as the page's table implies.
* profile names that are not valid profiles admit no pod and are ignored; ``docker/default``
  is the older name of ``runtime/default`` (Pod Security accepts both);
* ``seLinux`` type ``container_engine_t``: Pod Security allows it from policy version v1.31
  (the page predates it), so it counts as Baseline when the target version is v1.31 or later
  or unknown (``latest``).
* ``hostPorts`` ranges that contain only port 0 admit no host port.

Every field that *mutates* pods is listed too: Pod Security admission never mutates, so
whatever a PSP set on pods (a user id, dropped capabilities, ``allowPrivilegeEscalation:
false``, a seccomp profile) must be written into the pod specs before the PSP goes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .model import (
    APPARMOR_ALLOWED,
    APPARMOR_DEFAULT,
    PSP,
    SECCOMP_ALLOWED,
    SECCOMP_DEFAULT,
    IDStrategy,
    parse_kube_version,
)

PRIVILEGED, BASELINE, RESTRICTED = "privileged", "baseline", "restricted"
LEVELS = (PRIVILEGED, BASELINE, RESTRICTED)
RANK = {PRIVILEGED: 0, BASELINE: 1, RESTRICTED: 2}
NO_OPINION = "no opinion"

#: Capabilities the Baseline profile lets a container add (the runtime's default set).
BASELINE_CAPABILITIES = frozenset({
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
    "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
})
RESTRICTED_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})
#: Volume types of the Restricted profile, as PSP names them.
RESTRICTED_VOLUMES = frozenset({
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
    "projected", "secret",
})
SELINUX_TYPES = ("container_t", "container_init_t", "container_kvm_t")
SELINUX_ENGINE_TYPE = "container_engine_t"
SELINUX_ENGINE_SINCE = (1, 31)


@dataclass
class FieldMapping:
    """One PSP field: its value, the strictest level it satisfies, what each level needs."""

    field: str
    type: str  #: ``Validating``, ``Mutating``, ``Mutating & Validating``
    value: str
    level: str  #: ``privileged``/``baseline``/``restricted`` or ``no opinion``
    baseline: str
    restricted: str
    #: what the field sets on pods (when it mutates them), to write into pod specs instead
    mutates: str | None = None

    @property
    def rank(self) -> int:
        return RANK.get(self.level, RANK[RESTRICTED])

    @property
    def short(self) -> str:
        """The field's name for tables: ``seccomp allowedProfileNames (annotation)``."""
        if self.field.startswith("annotation "):
            key = self.field[len("annotation "):]
            which = "seccomp" if key.startswith("seccomp") else "AppArmor"
            return f"{which} {key.rsplit('/', 1)[-1]} (annotation)"
        return self.field

    def to_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "type": self.type,
            "value": self.value,
            "level": self.level,
            "baseline": self.baseline,
            "restricted": self.restricted,
            "mutates": self.mutates,
        }


@dataclass
class PSSMapping:
    """A PSP's Pod Security equivalent."""

    psp: PSP
    fields: list[FieldMapping] = field(default_factory=list)

    @property
    def level(self) -> str:
        """The strictest level whose rules the PSP still enforces."""
        rank = min((f.rank for f in self.fields), default=RANK[RESTRICTED])
        return LEVELS[rank]

    @property
    def blocking(self) -> list[FieldMapping]:
        """The fields that keep the PSP from the next stricter level."""
        rank = RANK[self.level]
        return [f for f in self.fields if f.level != NO_OPINION and f.rank == rank and rank < RANK[RESTRICTED]]

    @property
    def below_restricted(self) -> list[FieldMapping]:
        return [f for f in self.fields if f.level in (PRIVILEGED, BASELINE)]

    @property
    def mutations(self) -> list[FieldMapping]:
        return [f for f in self.fields if f.mutates]

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "blocking": [f.field for f in self.blocking],
            "fields": [f.to_dict() for f in self.fields],
            "mutations": [{"field": f.field, "sets": f.mutates} for f in self.mutations],
        }


def _list(values: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join(values) + "]" if values else "[] (unset)"


def _bool(value: bool, set_: bool = True) -> str:
    return ("true" if value else "false") if set_ else "unset"


def _capability_level(capabilities: tuple[str, ...]) -> str:
    if "*" in capabilities:
        return PRIVILEGED
    if set(capabilities) <= RESTRICTED_CAPABILITIES:
        return RESTRICTED
    if set(capabilities) <= BASELINE_CAPABILITIES:
        return BASELINE
    return PRIVILEGED


def _volume_level(volumes: tuple[str, ...]) -> str:
    if "*" in volumes or "hostPath" in volumes:
        return PRIVILEGED
    if set(volumes) <= RESTRICTED_VOLUMES:
        return RESTRICTED
    return BASELINE


def _selinux_types(version: str | None) -> tuple[str, ...]:
    if version in (None, "", "latest"):
        return SELINUX_TYPES + (SELINUX_ENGINE_TYPE,)
    if parse_kube_version(version) >= SELINUX_ENGINE_SINCE:
        return SELINUX_TYPES + (SELINUX_ENGINE_TYPE,)
    return SELINUX_TYPES


def _selinux_level(psp: PSP, version: str | None) -> str:
    if psp.selinux_rule != "MustRunAs":
        return PRIVILEGED
    options = psp.selinux_options
    if options.get("user") or options.get("role"):
        return PRIVILEGED
    if options.get("type") and options["type"] not in _selinux_types(version):
        return PRIVILEGED
    return RESTRICTED


def _selinux_value(psp: PSP) -> str:
    if psp.selinux_rule is None:
        return "(no rule)"
    options = ", ".join(f"{k}: {v}" for k, v in sorted(psp.selinux_options.items()))
    return psp.selinux_rule + (f" {{{options}}}" if options else "")


def _profile_ok(name: str) -> bool | None:
    """True for a confined profile, False for one that is not, None for no valid profile."""
    if name in ("runtime/default", "docker/default") or (name.startswith("localhost/") and len(name) > 10):
        return True
    if name in ("*", "unconfined"):
        return False
    return None


def _profiles_level(profiles: tuple[str, ...] | None, absent: str) -> str:
    if profiles is None:
        return absent
    verdicts = [_profile_ok(name) for name in profiles if name != ""]
    if any(v is False for v in verdicts):
        return PRIVILEGED
    if "" in profiles or not any(verdicts):
        return BASELINE  # pods may (or must) set no profile
    return RESTRICTED


def _id_strategy_mutation(name: str, strategy: IDStrategy | None, target: str) -> str | None:
    if strategy is None or strategy.rule != "MustRunAs" or not strategy.ranges:
        return None
    first = strategy.ranges[0].min
    value = f"[{first}]" if target == "supplementalGroups" else str(first)
    return f"{target}: {value} when a pod does not set it ({name} MustRunAs)"


def map_psp(psp: PSP, version: str | None = None) -> PSSMapping:
    """The field-by-field Pod Security equivalent of a PSP (``version``: the target
    cluster's Kubernetes version, for the one row that depends on it)."""
    rows: list[FieldMapping] = []
    add = rows.append
    both_false = "false / undefined"
    add(FieldMapping("privileged", "Validating", _bool(psp.privileged),
                     PRIVILEGED if psp.privileged else RESTRICTED, both_false, both_false))
    add_caps = psp.default_add_capabilities
    add(FieldMapping(
        "defaultAddCapabilities", "Mutating & Validating", _list(add_caps), _capability_level(add_caps),
        "as allowedCapabilities", "as allowedCapabilities",
        f"adds {', '.join(add_caps)} to every container that does not drop them" if add_caps else None,
    ))
    caps = psp.allowed_capabilities
    add(FieldMapping(
        "allowedCapabilities", "Validating", _list(caps), _capability_level(caps),
        "a subset of " + ", ".join(sorted(BASELINE_CAPABILITIES)),
        "empty, or only NET_BIND_SERVICE",
    ))
    drops = psp.required_drop_capabilities
    add(FieldMapping(
        "requiredDropCapabilities", "Mutating & Validating", _list(drops),
        RESTRICTED if "ALL" in drops else BASELINE, NO_OPINION, "must include ALL",
        f"drops {', '.join(drops)} from every container" if drops else None,
    ))
    add(FieldMapping(
        "volumes", "Validating", _list(psp.volumes), _volume_level(psp.volumes),
        "anything except hostPath and *", "a subset of " + ", ".join(sorted(RESTRICTED_VOLUMES)),
    ))
    add(FieldMapping("hostNetwork", "Validating", _bool(psp.host_network),
                     PRIVILEGED if psp.host_network else RESTRICTED, both_false, both_false))
    ports = psp.host_ports_allowed
    add(FieldMapping(
        "hostPorts", "Validating", "[" + ", ".join(str(r) for r in psp.host_ports) + "]" if psp.host_ports else "[] (unset)",
        PRIVILEGED if ports else RESTRICTED, "undefined / empty", "undefined / empty",
    ))
    add(FieldMapping("hostPID", "Validating", _bool(psp.host_pid),
                     PRIVILEGED if psp.host_pid else RESTRICTED, both_false, both_false))
    add(FieldMapping("hostIPC", "Validating", _bool(psp.host_ipc),
                     PRIVILEGED if psp.host_ipc else RESTRICTED, both_false, both_false))
    types = ", ".join(_selinux_types(version))
    selinux_need = f"rule MustRunAs, no user or role, type unset or one of {types}"
    selinux_mutates = None
    if psp.selinux_rule == "MustRunAs" and psp.selinux_options:
        selinux_mutates = "seLinuxOptions " + ", ".join(f"{k}: {v}" for k, v in sorted(psp.selinux_options.items()))
    add(FieldMapping("seLinux", "Mutating & Validating", _selinux_value(psp), _selinux_level(psp, version),
                     selinux_need, selinux_need, selinux_mutates))
    user = psp.run_as_user
    user_mutates = _id_strategy_mutation("runAsUser", user, "runAsUser")
    if user is not None and user.rule == "MustRunAsNonRoot":
        user_mutates = "runAsNonRoot: true when a pod sets neither runAsNonRoot nor runAsUser (runAsUser MustRunAsNonRoot)"
    add(FieldMapping(
        "runAsUser", "Mutating & Validating", str(user) if user else "(unset)",
        RESTRICTED if user is not None and user.rule == "MustRunAsNonRoot" else BASELINE,
        "anything", "rule MustRunAsNonRoot", user_mutates,
    ))
    for name, strategy, target in (
        ("runAsGroup", psp.run_as_group, "runAsGroup"),
        ("supplementalGroups", psp.supplemental_groups, "supplementalGroups"),
        ("fsGroup", psp.fs_group, "fsGroup"),
    ):
        add(FieldMapping(
            name, "Mutating (MustRunAs) & Validating" if name == "runAsGroup" else "Mutating & Validating",
            str(strategy) if strategy else "(unset)", NO_OPINION, NO_OPINION, NO_OPINION,
            _id_strategy_mutation(name, strategy, target),
        ))
    add(FieldMapping(
        "readOnlyRootFilesystem", "Mutating & Validating", _bool(psp.read_only_root_filesystem),
        NO_OPINION, NO_OPINION, NO_OPINION,
        "readOnlyRootFilesystem: true on every container that does not set it" if psp.read_only_root_filesystem else None,
    ))
    default_escalation = psp.default_allow_privilege_escalation
    add(FieldMapping(
        "defaultAllowPrivilegeEscalation", "Mutating",
        _bool(bool(default_escalation), default_escalation is not None), NO_OPINION,
        "no opinion (non-validating)", "no opinion (non-validating)",
        f"allowPrivilegeEscalation: {_bool(bool(default_escalation))} on every container that does not set it"
        if default_escalation is not None else None,
    ))
    escalation_value = _bool(psp.allow_privilege_escalation, psp.allow_privilege_escalation_set)
    if not psp.allow_privilege_escalation_set:
        escalation_value += " (defaults to true)"
    add(FieldMapping(
        "allowPrivilegeEscalation", "Mutating & Validating", escalation_value,
        BASELINE if psp.allow_privilege_escalation else RESTRICTED, NO_OPINION, "false",
        None if psp.allow_privilege_escalation or default_escalation is not None
        else "allowPrivilegeEscalation: false on every container that does not set it",
    ))
    host_paths = [f"{p.prefix}{' (readOnly)' if p.read_only else ''}" for p in psp.allowed_host_paths]
    for name, values in (
        ("allowedHostPaths", host_paths),
        ("allowedFlexVolumes", list(psp.allowed_flex_volumes)),
        ("allowedCSIDrivers", list(psp.allowed_csi_drivers)),
    ):
        add(FieldMapping(name, "Validating", _list(values), NO_OPINION,
                         "no opinion (volumes takes precedence)", "no opinion (volumes takes precedence)"))
    add(FieldMapping(
        "allowedUnsafeSysctls", "Validating", _list(psp.allowed_unsafe_sysctls),
        PRIVILEGED if psp.allowed_unsafe_sysctls else RESTRICTED, "undefined / empty", "undefined / empty",
    ))
    add(FieldMapping("forbiddenSysctls", "Validating", _list(psp.forbidden_sysctls), NO_OPINION,
                     NO_OPINION, NO_OPINION))
    proc = psp.allowed_proc_mount_types
    add(FieldMapping(
        "allowedProcMountTypes", "Validating", _list(proc),
        RESTRICTED if set(proc) <= {"Default"} else PRIVILEGED,
        '["Default"] or undefined / empty', '["Default"] or undefined / empty',
    ))
    runtime_default = psp.runtime_class.get("defaultRuntimeClassName")
    add(FieldMapping(
        "runtimeClass.defaultRuntimeClassName", "Mutating",
        runtime_default if isinstance(runtime_default, str) else "(unset)", NO_OPINION, NO_OPINION, NO_OPINION,
        f"runtimeClassName: {runtime_default} when a pod does not set it" if isinstance(runtime_default, str) else None,
    ))
    allowed_classes = psp.runtime_class.get("allowedRuntimeClassNames")
    add(FieldMapping(
        "runtimeClass.allowedRuntimeClassNames", "Validating",
        _list([c for c in allowed_classes if isinstance(c, str)]) if isinstance(allowed_classes, list) else "[] (unset)",
        NO_OPINION, NO_OPINION, NO_OPINION,
    ))
    for allowed_key, default_key, absent, label in (
        (SECCOMP_ALLOWED, SECCOMP_DEFAULT, BASELINE, "seccomp"),
        (APPARMOR_ALLOWED, APPARMOR_DEFAULT, PRIVILEGED, "AppArmor"),
    ):
        default = psp.annotations.get(default_key)
        add(FieldMapping(
            f"annotation {default_key}", "Mutating", default if default is not None else "(unset)",
            NO_OPINION, NO_OPINION, NO_OPINION,
            f"the {label} profile {default} on pods that set none" if default else None,
        ))
        profiles = psp.profiles(allowed_key)
        value = f'"{psp.annotations[allowed_key]}"' if profiles is not None else (
            "(unset: no profile may be set)" if label == "seccomp" else "(unset: any profile, unconfined included)"
        )
        add(FieldMapping(
            f"annotation {allowed_key}", "Validating", value, _profiles_level(profiles, absent),
            '"runtime/default," (a trailing comma allows unset) or localhost/* profiles',
            '"runtime/default" (no trailing comma) or localhost/* profiles',
        ))
    return PSSMapping(psp, rows)
