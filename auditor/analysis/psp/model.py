"""PodSecurityPolicy objects (policy/v1beta1) read as the API server held them.

A PSP is read with Go's eyes: a field of the wrong type is absent, and the API server's
defaulting is applied where it changes the meaning (``allowPrivilegeEscalation`` defaults to
``true``: a PSP that does not say ``false`` lets containers escalate). Kubernetes removed the
PSP API and its admission controller in 1.25; :func:`psp_inert` tells whether a cluster
version still runs them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ...inventory import Inventory, Resource

#: The API groups a PodSecurityPolicy was served in (``extensions`` until 1.16).
PSP_GROUPS = ("policy", "extensions")
#: The first Kubernetes minor without the PodSecurityPolicy API and admission controller.
REMOVED_IN_MINOR = 25

SECCOMP_ALLOWED = "seccomp.security.alpha.kubernetes.io/allowedProfileNames"
SECCOMP_DEFAULT = "seccomp.security.alpha.kubernetes.io/defaultProfileName"
APPARMOR_ALLOWED = "apparmor.security.beta.kubernetes.io/allowedProfileNames"
APPARMOR_DEFAULT = "apparmor.security.beta.kubernetes.io/defaultProfileName"

_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+].*)?$")


def parse_kube_version(text: str) -> tuple[int, int]:
    """``1.30``, ``v1.30`` or ``1.30.2`` → (1, 30); anything else raises ``ValueError``."""
    match = _VERSION.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{text!r} is not a Kubernetes version such as 1.30 or v1.30.2")
    return int(match.group(1)), int(match.group(2))


def psp_inert(kube_version: str | None) -> bool:
    """Whether a cluster of this version ignores PodSecurityPolicies (1.25 and later)."""
    if not kube_version:
        return False
    major, minor = parse_kube_version(kube_version)
    return major > 1 or minor >= REMOVED_IN_MINOR


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(item for item in value if isinstance(item, str))


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class IDRange:
    min: int | None
    max: int | None

    def includes(self, number: int) -> bool:
        low = self.min if self.min is not None else 0
        high = self.max if self.max is not None else low
        return low <= number <= high

    def __str__(self) -> str:
        return f"{self.min}-{self.max}" if self.min != self.max else str(self.min)


def _ranges(value: Any) -> tuple[IDRange, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(
        IDRange(_int(item.get("min")), _int(item.get("max"))) for item in value if isinstance(item, dict)
    )


@dataclass(frozen=True)
class IDStrategy:
    """``runAsUser``, ``runAsGroup``, ``supplementalGroups``, ``fsGroup``: a rule and ranges."""

    rule: str | None
    ranges: tuple[IDRange, ...] = ()

    @classmethod
    def parse(cls, value: Any) -> IDStrategy | None:
        if not isinstance(value, dict):
            return None
        rule = value.get("rule")
        return cls(rule if isinstance(rule, str) else None, _ranges(value.get("ranges")))

    def __str__(self) -> str:
        ranges = ", ".join(str(r) for r in self.ranges)
        return f"{self.rule or '(no rule)'}" + (f" [{ranges}]" if ranges else "")


@dataclass(frozen=True)
class HostPath:
    prefix: str
    read_only: bool


@dataclass
class PSP:
    """One PodSecurityPolicy, its spec fields typed and defaulted."""

    resource: Resource
    name: str
    privileged: bool
    default_add_capabilities: tuple[str, ...]
    required_drop_capabilities: tuple[str, ...]
    allowed_capabilities: tuple[str, ...]
    #: ``None`` when the field is absent (the API server rejects it; read as no volumes)
    volumes: tuple[str, ...]
    host_network: bool
    host_ports: tuple[IDRange, ...]
    host_pid: bool
    host_ipc: bool
    selinux_rule: str | None
    selinux_options: dict[str, str]
    run_as_user: IDStrategy | None
    run_as_group: IDStrategy | None
    supplemental_groups: IDStrategy | None
    fs_group: IDStrategy | None
    read_only_root_filesystem: bool
    default_allow_privilege_escalation: bool | None
    #: defaulted: ``true`` unless the PSP says ``false``
    allow_privilege_escalation: bool
    allow_privilege_escalation_set: bool
    allowed_host_paths: tuple[HostPath, ...]
    allowed_flex_volumes: tuple[str, ...]
    allowed_csi_drivers: tuple[str, ...]
    allowed_unsafe_sysctls: tuple[str, ...]
    forbidden_sysctls: tuple[str, ...]
    allowed_proc_mount_types: tuple[str, ...]
    runtime_class: dict[str, Any]
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def display(self) -> str:
        return f"PodSecurityPolicy {self.name}"

    @property
    def host_path_allowed(self) -> bool:
        return "*" in self.volumes or "hostPath" in self.volumes

    @property
    def host_ports_allowed(self) -> tuple[IDRange, ...]:
        """The ranges that admit a real host port (a range of only 0 admits none)."""
        return tuple(r for r in self.host_ports if (r.max or 0) > 0 or (r.min or 0) > 0)

    def profiles(self, annotation: str) -> tuple[str, ...] | None:
        """The comma-separated profile names of an annotation, as PSP split them (``None``
        when the annotation is absent). An empty entry (``"runtime/default,"``) admits pods
        that set no profile."""
        value = self.annotations.get(annotation)
        if not isinstance(value, str):
            return None
        return tuple(value.split(","))


def is_psp(resource: Resource) -> bool:
    return resource.kind == "PodSecurityPolicy" and resource.group in PSP_GROUPS


def parse_psp(resource: Resource) -> PSP:
    spec = resource.obj.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    selinux = spec.get("seLinux") if isinstance(spec.get("seLinux"), dict) else {}
    options = selinux.get("seLinuxOptions")
    options = {k: v for k, v in options.items() if isinstance(v, str)} if isinstance(options, dict) else {}
    escalation = _bool(spec.get("allowPrivilegeEscalation"))
    host_paths = []
    for item in spec.get("allowedHostPaths") or []:
        if isinstance(item, dict) and isinstance(item.get("pathPrefix"), str):
            host_paths.append(HostPath(item["pathPrefix"], item.get("readOnly") is True))
    flex = tuple(
        item["driver"] for item in spec.get("allowedFlexVolumes") or []
        if isinstance(item, dict) and isinstance(item.get("driver"), str)
    )
    csi = tuple(
        item["name"] for item in spec.get("allowedCSIDrivers") or []
        if isinstance(item, dict) and isinstance(item.get("name"), str)
    )
    annotations = {k: v for k, v in resource.annotations.items() if isinstance(v, str)}
    return PSP(
        resource=resource,
        name=resource.name,
        privileged=spec.get("privileged") is True,
        default_add_capabilities=_strings(spec.get("defaultAddCapabilities")),
        required_drop_capabilities=_strings(spec.get("requiredDropCapabilities")),
        allowed_capabilities=_strings(spec.get("allowedCapabilities")),
        volumes=_strings(spec.get("volumes")),
        host_network=spec.get("hostNetwork") is True,
        host_ports=_ranges(spec.get("hostPorts")),
        host_pid=spec.get("hostPID") is True,
        host_ipc=spec.get("hostIPC") is True,
        selinux_rule=selinux.get("rule") if isinstance(selinux.get("rule"), str) else None,
        selinux_options=options,
        run_as_user=IDStrategy.parse(spec.get("runAsUser")),
        run_as_group=IDStrategy.parse(spec.get("runAsGroup")),
        supplemental_groups=IDStrategy.parse(spec.get("supplementalGroups")),
        fs_group=IDStrategy.parse(spec.get("fsGroup")),
        read_only_root_filesystem=spec.get("readOnlyRootFilesystem") is True,
        default_allow_privilege_escalation=_bool(spec.get("defaultAllowPrivilegeEscalation")),
        allow_privilege_escalation=escalation is not False,
        allow_privilege_escalation_set=escalation is not None,
        allowed_host_paths=tuple(host_paths),
        allowed_flex_volumes=flex,
        allowed_csi_drivers=csi,
        allowed_unsafe_sysctls=_strings(spec.get("allowedUnsafeSysctls")),
        forbidden_sysctls=_strings(spec.get("forbiddenSysctls")),
        allowed_proc_mount_types=_strings(spec.get("allowedProcMountTypes")),
        runtime_class=spec.get("runtimeClass") if isinstance(spec.get("runtimeClass"), dict) else {},
        annotations=annotations,
    )


def psps_of(inventory: Inventory) -> list[PSP]:
    """Every PodSecurityPolicy of the inventory, one per name (the last declaration wins)."""
    found: dict[str, PSP] = {}
    for resource in inventory.of_kind("PodSecurityPolicy"):
        if is_psp(resource):
            found[resource.name] = parse_psp(resource)
    return list(found.values())
