"""A single pass over a pod that rules out, cheaply, the checks that cannot fail.

Running every check means walking the containers once per check. Most pods pass most
checks, so the evaluator first asks this screen which checks *might* fail, and runs
only those. The screen is deliberately conservative: it may name a check that then
passes (e.g. any ``seLinuxOptions`` at all), but it must never miss one that fails.
That is its whole contract, and the test-suite holds it to it by comparing screened
and exhaustive evaluation on every conformance fixture and on randomly mangled pods.

It only understands the ordinary shape (dicts and lists as YAML produces them);
anything else makes it give up and answer "every check", which is always safe.

This is the hot path of a scan, written for speed: one function, fields that compliant
pods set are read directly, and fields they rarely set are tested as a group with one
set operation before being looked at one by one.
"""

from __future__ import annotations

from .checks.capabilities import BASELINE_ALLOWED_CAPABILITIES
from .checks.volumes import RESTRICTED_FORBIDDEN_SOURCES
from .registry import CHECKS

#: One bit per check id.
CHECK_BITS: dict[str, int] = {check.id: 1 << position for position, check in enumerate(CHECKS)}
EVERY_CHECK = (1 << len(CHECKS)) - 1

_APPARMOR = CHECK_BITS["appArmorProfile"]
_CAPABILITIES = CHECK_BITS["capabilities_baseline"] | CHECK_BITS["capabilities_restricted"]
_CAPABILITIES_RESTRICTED = CHECK_BITS["capabilities_restricted"]
_HOST_NAMESPACES = CHECK_BITS["hostNamespaces"]
_HOST_PATH = CHECK_BITS["hostPathVolumes"] | CHECK_BITS["restrictedVolumes"]
_HOST_PORTS = CHECK_BITS["hostPorts"]
_HOST_PROBES = CHECK_BITS["hostProbesAndHostLifecycle"]
_PRIVILEGED = CHECK_BITS["privileged"]
_PROC_MOUNT = CHECK_BITS["procMount"] | CHECK_BITS["procMount_restricted"]
_SELINUX = CHECK_BITS["seLinuxOptions"]
_SECCOMP = CHECK_BITS["seccompProfile_baseline"] | CHECK_BITS["seccompProfile_restricted"]
_SECCOMP_RESTRICTED = CHECK_BITS["seccompProfile_restricted"]
_SYSCTLS = CHECK_BITS["sysctls"]
_WINDOWS = CHECK_BITS["windowsHostProcess"]
_PRIVILEGE_ESCALATION = CHECK_BITS["allowPrivilegeEscalation"]
_RESTRICTED_VOLUMES = CHECK_BITS["restrictedVolumes"]
_RUN_AS_NON_ROOT = CHECK_BITS["runAsNonRoot"]
_RUN_AS_USER = CHECK_BITS["runAsUser"]

_FORBIDDEN_VOLUME_SOURCES = frozenset(RESTRICTED_FORBIDDEN_SOURCES)
_GOOD_SECCOMP_TYPES = frozenset({"RuntimeDefault", "Localhost"})
_ANNOTATION_PREFIXES = (
    "container.apparmor.security.beta.kubernetes.io/",
    "seccomp.security.alpha.kubernetes.io/",
    "container.seccomp.security.alpha.kubernetes.io/",
)
_CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
_HOST_NAMESPACE_KEYS = frozenset({"hostNetwork", "hostPID", "hostIPC"})
_HOST_BEARING_KEYS = frozenset({"livenessProbe", "readinessProbe", "startupProbe", "lifecycle"})
#: securityContext fields compliant containers seldom set; looked at only when present.
_RARE_CONTAINER_KEYS = frozenset(
    {"privileged", "procMount", "seLinuxOptions", "appArmorProfile", "windowsOptions"}
)
_RARE_POD_KEYS = frozenset({"seLinuxOptions", "appArmorProfile", "windowsOptions", "sysctls"})


class _GiveUp(Exception):
    """Raised on input the screen does not model; the caller then runs every check."""


def _handler_has_host(handler: object) -> bool:
    """Whether a probe or lifecycle handler's httpGet or tcpSocket names a host."""
    if handler is None:
        return False
    if type(handler) is not dict:
        raise _GiveUp
    for action in ("httpGet", "tcpSocket"):
        details = handler.get(action)
        if details is not None:
            if type(details) is not dict:
                raise _GiveUp
            if details.get("host"):
                return True
    return False


def _has_host(container: dict) -> bool:
    """Whether any probe or lifecycle hook of the container names a host."""
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        # _handler_has_host inlined: probes are common, and the call costs a third.
        handler = container.get(probe)
        if handler is None:
            continue
        if type(handler) is not dict:
            raise _GiveUp
        details = handler.get("httpGet")
        if details is not None:
            if type(details) is not dict:
                raise _GiveUp
            if details.get("host"):
                return True
        details = handler.get("tcpSocket")
        if details is not None:
            if type(details) is not dict:
                raise _GiveUp
            if details.get("host"):
                return True
    lifecycle = container.get("lifecycle")
    if lifecycle is None:
        return False
    if type(lifecycle) is not dict:
        raise _GiveUp
    return _handler_has_host(lifecycle.get("postStart")) or _handler_has_host(
        lifecycle.get("preStop")
    )


def _good_seccomp(profile: object) -> bool:
    """A seccompProfile of type RuntimeDefault or Localhost."""
    if type(profile) is not dict:
        return False
    profile_type = profile.get("type")
    return type(profile_type) is str and profile_type in _GOOD_SECCOMP_TYPES


def _capability_bits(capabilities: object) -> int:
    if type(capabilities) is not dict:
        raise _GiveUp
    bits = 0
    drop = capabilities.get("drop")
    if type(drop) is not list or "ALL" not in drop:
        bits = _CAPABILITIES_RESTRICTED
    added = capabilities.get("add")
    if added:
        if type(added) is not list:
            raise _GiveUp
        for capability in added:
            if type(capability) is not str:
                raise _GiveUp
            if capability != "NET_BIND_SERVICE":
                bits |= _CAPABILITIES_RESTRICTED
                if capability not in BASELINE_ALLOWED_CAPABILITIES:
                    bits |= _CAPABILITIES
    return bits


def _rare_container_bits(sc: dict) -> int:
    bits = 0
    if sc.get("privileged") is True:
        bits |= _PRIVILEGED
    proc_mount = sc.get("procMount")
    if proc_mount is not None and proc_mount != "Default":
        bits |= _PROC_MOUNT
    if "seLinuxOptions" in sc:
        bits |= _SELINUX
    if "appArmorProfile" in sc:
        bits |= _APPARMOR
    if "windowsOptions" in sc:
        bits |= _WINDOWS
    return bits


def _rare_pod_bits(pod_sc: dict) -> int:
    bits = 0
    if "seLinuxOptions" in pod_sc:
        bits |= _SELINUX
    if "appArmorProfile" in pod_sc:
        bits |= _APPARMOR
    if "windowsOptions" in pod_sc:
        bits |= _WINDOWS
    if pod_sc.get("sysctls"):
        bits |= _SYSCTLS
    return bits


def _annotation_bits(metadata: object) -> int:
    if type(metadata) is not dict:
        raise _GiveUp
    annotations = metadata.get("annotations")
    if not annotations:
        return 0
    if type(annotations) is not dict:
        raise _GiveUp
    for key in annotations:
        if type(key) is not str or key.startswith(_ANNOTATION_PREFIXES):
            return _APPARMOR | _SECCOMP
    return 0


def _volume_bits(volumes: object) -> int:
    if type(volumes) is not list:
        raise _GiveUp
    bits = 0
    for volume in volumes:
        if type(volume) is not dict:
            raise _GiveUp
        if not _FORBIDDEN_VOLUME_SOURCES.isdisjoint(volume):
            bits |= _HOST_PATH if "hostPath" in volume else _RESTRICTED_VOLUMES
    return bits


def _screen(metadata: object, spec: object) -> int:
    if type(spec) is not dict:
        raise _GiveUp
    bits = 0
    if not _HOST_NAMESPACE_KEYS.isdisjoint(spec) and (
        spec.get("hostNetwork") or spec.get("hostPID") or spec.get("hostIPC")
    ):
        bits |= _HOST_NAMESPACES
    if metadata is not None and (type(metadata) is not dict or metadata.get("annotations")):
        bits |= _annotation_bits(metadata)
    volumes = spec.get("volumes")
    if volumes:
        bits |= _volume_bits(volumes)

    pod_non_root = pod_seccomp = False
    pod_sc = spec.get("securityContext")
    if pod_sc is not None:
        if type(pod_sc) is not dict:
            raise _GiveUp
        non_root = pod_sc.get("runAsNonRoot")
        if non_root is True:
            pod_non_root = True
        elif non_root is False:
            bits |= _RUN_AS_NON_ROOT
        seccomp = pod_sc.get("seccompProfile")
        if seccomp is not None:
            if _good_seccomp(seccomp):
                pod_seccomp = True
            else:
                bits |= _SECCOMP
        if pod_sc.get("runAsUser") == 0:
            bits |= _RUN_AS_USER
        if not _RARE_POD_KEYS.isdisjoint(pod_sc):
            bits |= _rare_pod_bits(pod_sc)

    # Whether some container leaves runAsNonRoot / seccompProfile to the pod.
    lacks_non_root = lacks_seccomp = False
    for kind in _CONTAINER_LISTS:
        containers = spec.get(kind)
        if not containers:
            continue
        if type(containers) is not list:
            raise _GiveUp
        for container in containers:
            if type(container) is not dict:
                raise _GiveUp
            ports = container.get("ports")
            if ports:
                if type(ports) is not list:
                    raise _GiveUp
                for port in ports:
                    if type(port) is not dict:
                        raise _GiveUp
                    if port.get("hostPort"):
                        bits |= _HOST_PORTS
            if not _HOST_BEARING_KEYS.isdisjoint(container) and _has_host(container):
                bits |= _HOST_PROBES

            sc = container.get("securityContext")
            if sc is None:
                lacks_non_root = lacks_seccomp = True
                bits |= _PRIVILEGE_ESCALATION | _CAPABILITIES_RESTRICTED
                continue
            if type(sc) is not dict:
                raise _GiveUp
            if sc.get("allowPrivilegeEscalation") is not False:
                bits |= _PRIVILEGE_ESCALATION
            capabilities = sc.get("capabilities")
            if capabilities is None:
                bits |= _CAPABILITIES_RESTRICTED
            elif type(capabilities) is dict and not capabilities.get("add"):
                drop = capabilities.get("drop")  # the usual case: only drops
                if type(drop) is not list or "ALL" not in drop:
                    bits |= _CAPABILITIES_RESTRICTED
            else:
                bits |= _capability_bits(capabilities)
            non_root = sc.get("runAsNonRoot")
            if non_root is False:
                bits |= _RUN_AS_NON_ROOT
            elif non_root is not True:
                lacks_non_root = True
            seccomp = sc.get("seccompProfile")
            if seccomp is None:
                lacks_seccomp = True
            elif not _good_seccomp(seccomp):
                bits |= _SECCOMP
            if sc.get("runAsUser") == 0:
                bits |= _RUN_AS_USER
            if not _RARE_CONTAINER_KEYS.isdisjoint(sc):
                bits |= _rare_container_bits(sc)

    if lacks_non_root and not pod_non_root:
        bits |= _RUN_AS_NON_ROOT
    if lacks_seccomp and not pod_seccomp:
        bits |= _SECCOMP_RESTRICTED
    return bits


def suspect_checks(metadata: object, spec: object) -> int:
    """Bitmask (``CHECK_BITS``) of the checks that might fail; 0 means none can."""
    try:
        return _screen(metadata, spec)
    except _GiveUp:
        return EVERY_CHECK
