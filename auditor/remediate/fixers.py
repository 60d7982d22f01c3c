"""The fixer registry: what ``kube-auditor fix`` may change for a finding, and when.

A fixer is keyed by a **rule id** (``KA-CTR-006``) or by a **Pod Security check id**
(``allowPrivilegeEscalation``); findings of Pod Security rules carry the check id in
``details.check`` and the offending fields in ``details.paths``, so every rule that reports
a PSA check gets its fix whatever its id. Fixers are code, not rule data, because deciding
whether a fix is safe needs more than a field predicate (who the container runs as, whether
the API server would accept the combination, what else mounts at /tmp).

A fixer changes a *copy* of the object (plain data) and says, per place, what it did or why
it did not. The rule of safety, applied by every fixer:

* **safe** (applied by ``fix``): filling in a field the manifest leaves unset, with a value
  an ordinary workload does not notice, when the manifest shows nothing that relies on the
  unset default;
* **risky** (applied only with ``fix --risky``): overwriting a value someone wrote
  (``privileged: true``, ``runAsNonRoot: false``), or a change that can stop a workload from
  starting or working (a read-only root filesystem, dropping every capability from a
  container that may run as root, ``runAsNonRoot`` without a known non-root user);
* **manual** (never applied): a change that needs knowledge the manifest lacks (the image's
  user, whether a hostPath or host network is needed, which capability may go).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..analysis.serviceaccounts import service_account_name
from ..engine.findings import Finding
from ..inventory import CONTAINER_FIELDS, Inventory, find_pod_template

SAFE, RISKY, MANUAL = "safe", "risky", "manual"


@dataclass
class Step:
    """One thing a fixer did, or would do, at one place."""

    tier: str  #: safe, risky or manual
    where: str  #: e.g. ``container app`` or ``pod``
    what: str  #: what was (or would be) changed, or what to do
    why: str = ""  #: why it is risky or manual
    applied: bool = False


@dataclass
class FixContext:
    """What fixers see: the inventory (read-only) and whether risky fixes are wanted."""

    inventory: Inventory
    risky: bool = False


@dataclass
class PodTarget:
    """The pod spec of an object copy, and the containers a finding names."""

    spec: dict[str, Any]
    metadata: dict[str, Any]
    containers: list[tuple[str, int, dict[str, Any]]]  #: (field, index, container)
    path: str


FixerFunc = Callable[[PodTarget, Finding, FixContext, list[Step]], None]


@dataclass(frozen=True)
class Fixer:
    key: str
    func: FixerFunc
    summary: str
    #: the object-level fixer needs no pod spec (none of the built-in ones yet)
    needs_pod: bool = True


_BY_RULE: dict[str, Fixer] = {}
_BY_CHECK: dict[str, Fixer] = {}
#: Pod Security checks that have no mechanical fix, and what to do instead
MANUAL_CHECKS: dict[str, str] = {
    "hostNamespaces": "remove hostNetwork/hostPID/hostIPC if the workload does not need the node's namespaces",
    "hostPathVolumes": "replace the hostPath volume (a PersistentVolumeClaim, a ConfigMap, an emptyDir) if the data need not come from the node",
    "hostPorts": "remove hostPort and expose the port through a Service",
    "capabilities_baseline": "remove the added capabilities the workload does not need",
    "seLinuxOptions": "remove the custom SELinux user, role or type unless the node's policy requires it",
    "sysctls": "remove the unsafe sysctls, or set them on the nodes",
    "windowsHostProcess": "run the workload without hostProcess, or in a namespace meant for node agents",
    "hostProbesAndHostLifecycle": "remove the host field from probes and lifecycle handlers",
    "restrictedVolumes": "use only the volume types restricted allows (configMap, secret, emptyDir, projected, persistentVolumeClaim, ...)",
    "runAsUser": "set runAsUser to the non-root UID the image runs as (0 is root)",
}


def fixer(*, rule: str | None = None, check: str | None = None, summary: str = ""):
    def register(func: FixerFunc) -> FixerFunc:
        entry = Fixer(rule or check or "", func, summary or (func.__doc__ or "").strip().splitlines()[0])
        if rule:
            _BY_RULE[rule] = entry
        if check:
            _BY_CHECK[check] = entry
        return func

    return register


def lookup(finding: Finding) -> Fixer | None:
    """The fixer for a finding: by its rule, else by the Pod Security check it reports."""
    found = _BY_RULE.get(finding.rule)
    if found is not None:
        return found
    check = (finding.details or {}).get("check")
    return _BY_CHECK.get(check) if isinstance(check, str) else None


def manual_reason(finding: Finding) -> str:
    """Why a finding without a fixer is left to a person."""
    check = (finding.details or {}).get("check")
    if isinstance(check, str) and check in MANUAL_CHECKS:
        return MANUAL_CHECKS[check]
    if finding.rule.startswith(("KA-RBAC-", "KA-NET-")):
        return "not a manifest field fix: `kube-auditor remediate` generates the replacement objects"
    return finding.remediation


def registry() -> dict[str, list[tuple[str, str]]]:
    """Rule ids and check ids with a fixer, with their one-line summaries (for docs and tests)."""
    return {
        "rules": sorted((key, value.summary) for key, value in _BY_RULE.items()),
        "checks": sorted((key, value.summary) for key, value in _BY_CHECK.items()),
    }


def has_fixer_for_rule(rule_id: str) -> bool:
    return rule_id in _BY_RULE


# ----------------------------------------------------------------------------- targets

_CONTAINER_IN_PATH = re.compile(r"\b(initContainers|containers|ephemeralContainers)\[(\d+)\]")


def pod_target(obj: dict[str, Any], finding: Finding) -> PodTarget | None:
    """The pod spec in ``obj`` (a copy of the finding's object) and the containers to fix."""
    template = find_pod_template(finding.resource)
    if template is None:
        return None
    node: Any = obj
    for key in template.path:
        node = node.get(key) if isinstance(node, dict) else None
    if not isinstance(node, dict):
        return None
    spec = node
    if template.path == ("spec",):
        metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    else:
        parent: Any = obj
        for key in template.path[:-1]:
            parent = parent.get(key)
        metadata = parent.get("metadata") if isinstance(parent.get("metadata"), dict) else {}
    places: list[tuple[str, int]] = []
    details = finding.details or {}
    paths = [p for p in details.get("paths") or [] if isinstance(p, str)]
    for text in [finding.path or "", *paths]:
        for match in _CONTAINER_IN_PATH.finditer(text):
            place = (match.group(1), int(match.group(2)))
            if place not in places:
                places.append(place)
    names = list(details.get("containers") or [])
    if finding.container and finding.container not in names:
        names.append(finding.container)
    if not places and names:
        for field_name in CONTAINER_FIELDS:
            for index, container in enumerate(spec.get(field_name) or []):
                if isinstance(container, dict) and container.get("name") in names:
                    places.append((field_name, index))
    containers = []
    for field_name, index in places:
        items = spec.get(field_name)
        if isinstance(items, list) and index < len(items) and isinstance(items[index], dict):
            containers.append((field_name, index, items[index]))
    return PodTarget(spec, metadata, containers, ".".join(template.path))


def _all_containers(target: PodTarget) -> list[tuple[str, int, dict[str, Any]]]:
    out = []
    for field_name in CONTAINER_FIELDS:
        for index, container in enumerate(target.spec.get(field_name) or []):
            if isinstance(container, dict):
                out.append((field_name, index, container))
    return out


def _where(container: dict[str, Any]) -> str:
    return f"container {container.get('name', '?')}"


def _sc(holder: dict[str, Any], create: bool) -> dict[str, Any] | None:
    value = holder.get("securityContext")
    if isinstance(value, dict):
        return value
    if not create:
        return None
    if value is not None:
        return None  # a malformed securityContext: leave it to a person
    holder["securityContext"] = {}
    return holder["securityContext"]


def _get(holder: dict[str, Any] | None, *keys: str) -> Any:
    node: Any = holder
    for key in keys:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _effective(target: PodTarget, container: dict[str, Any], key: str) -> Any:
    value = _get(container, "securityContext", key)
    return value if value is not None else _get(target.spec, "securityContext", key)


def runs_as_non_root(target: PodTarget, container: dict[str, Any]) -> bool:
    """The manifest guarantees a non-root user: runAsUser > 0, or runAsNonRoot true."""
    user = _effective(target, container, "runAsUser")
    if isinstance(user, int) and not isinstance(user, bool) and user > 0:
        return True
    return _effective(target, container, "runAsNonRoot") is True


def _is_windows(target: PodTarget) -> bool:
    return _get(target.spec, "os", "name") == "windows"


def _record(steps: list[Step], ctx: FixContext, tier: str, where: str, what: str, why: str,
            change: Callable[[], None]) -> None:
    apply = tier == SAFE or (tier == RISKY and ctx.risky)
    if apply:
        change()
    steps.append(Step(tier, where, what, why, applied=apply))


# ----------------------------------------------------------------------------- fixers


@fixer(check="allowPrivilegeEscalation", summary="set allowPrivilegeEscalation: false")
def fix_privilege_escalation(target: PodTarget, finding: Finding, ctx: FixContext, steps: list[Step]) -> None:
    """Set allowPrivilegeEscalation: false where it is unset."""
    for _, _, container in target.containers or _all_containers(target):
        where = _where(container)
        current = _get(container, "securityContext", "allowPrivilegeEscalation")
        if current is False:
            continue
        adds = [str(c).upper().removeprefix("CAP_") for c in _get(container, "securityContext", "capabilities", "add") or []]
        if _get(container, "securityContext", "privileged") is True or "SYS_ADMIN" in adds:
            steps.append(Step(MANUAL, where, "set allowPrivilegeEscalation: false",
                              "the API server rejects it on a privileged container or one that adds SYS_ADMIN; remove those first"))
            continue
        sc = _sc(container, create=True)
        if sc is None:
            steps.append(Step(MANUAL, where, "set allowPrivilegeEscalation: false", "securityContext is malformed"))
            continue
        tier = SAFE if current is None else RISKY
        why = "" if current is None else "overrides an explicit allowPrivilegeEscalation: true (setuid binaries such as sudo stop working)"
        _record(steps, ctx, tier, where, "allowPrivilegeEscalation: false", why,
                lambda sc=sc: sc.__setitem__("allowPrivilegeEscalation", False))


@fixer(check="capabilities_restricted", summary="drop ALL capabilities (non-root containers)")
def fix_capabilities(target: PodTarget, finding: Finding, ctx: FixContext, steps: list[Step]) -> None:
    """Add ALL to capabilities.drop; added capabilities beyond NET_BIND_SERVICE are left to a person."""
    if _is_windows(target):
        return
    for _, _, container in target.containers or _all_containers(target):
        where = _where(container)
        caps = _get(container, "securityContext", "capabilities")
        drop = _get(caps, "drop")
        adds = [c for c in (_get(caps, "add") or []) if str(c) != "NET_BIND_SERVICE"]
        if adds:
            steps.append(Step(MANUAL, where, f"remove the added capabilities {', '.join(map(str, adds))}",
                              "only the workload's owners know whether it needs them"))
        if isinstance(drop, list) and "ALL" in drop:
            continue
        if drop is not None and not isinstance(drop, list):
            steps.append(Step(MANUAL, where, "drop ALL capabilities", "capabilities.drop is malformed"))
            continue
        if caps is not None and not isinstance(caps, dict):
            steps.append(Step(MANUAL, where, "drop ALL capabilities", "capabilities is malformed"))
            continue
        if runs_as_non_root(target, container):
            tier, why = SAFE, ""
        else:
            tier, why = RISKY, (
                "nothing guarantees a non-root user, and a process running as root often needs "
                "CHOWN, SETUID, SETGID or NET_BIND_SERVICE (add back what it needs)"
            )

        def change(container=container) -> None:
            sc = _sc(container, create=True)
            assert sc is not None
            capabilities = sc.setdefault("capabilities", {})
            capabilities.setdefault("drop", [])
            capabilities["drop"].append("ALL")

        if _sc(container, create=False) is None and container.get("securityContext") is not None:
            steps.append(Step(MANUAL, where, "drop ALL capabilities", "securityContext is malformed"))
            continue
        _record(steps, ctx, tier, where, "capabilities.drop: [ALL]", why, change)


def _seccomp_annotations(target: PodTarget) -> bool:
    annotations = target.metadata.get("annotations") if isinstance(target.metadata, dict) else None
    return isinstance(annotations, dict) and any(
        str(k).startswith(("seccomp.security.alpha.kubernetes.io/", "container.seccomp.security.alpha.kubernetes.io/"))
        for k in annotations
    )


@fixer(check="seccompProfile_restricted", summary="seccompProfile RuntimeDefault on the pod")
@fixer(check="seccompProfile_baseline", summary="seccompProfile RuntimeDefault on the pod")
def fix_seccomp(target: PodTarget, finding: Finding, ctx: FixContext, steps: list[Step]) -> None:
    """Set the pod's seccompProfile to RuntimeDefault; explicit Unconfined profiles are risky."""
    if _is_windows(target):
        return
    if _seccomp_annotations(target):
        steps.append(Step(MANUAL, "pod", "replace the seccomp annotations with securityContext.seccompProfile",
                          "the API server requires annotations and fields to agree"))
        return
    pod_profile = _get(target.spec, "securityContext", "seccompProfile")
    if pod_profile is None:
        sc = _sc(target.spec, create=True)
        if sc is None:
            steps.append(Step(MANUAL, "pod", "seccompProfile: RuntimeDefault", "securityContext is malformed"))
        else:
            _record(steps, ctx, SAFE, "pod", "seccompProfile: {type: RuntimeDefault}", "",
                    lambda: sc.__setitem__("seccompProfile", {"type": "RuntimeDefault"}))
    elif isinstance(pod_profile, dict) and pod_profile.get("type") not in ("RuntimeDefault", "Localhost"):
        _record(steps, ctx, RISKY, "pod", "seccompProfile.type: RuntimeDefault",
                f"overrides an explicit {pod_profile.get('type')!r} profile (the runtime's default blocks rarely used syscalls)",
                lambda: pod_profile.__setitem__("type", "RuntimeDefault"))
    for _, _, container in _all_containers(target):
        profile = _get(container, "securityContext", "seccompProfile")
        if isinstance(profile, dict) and profile.get("type") not in ("RuntimeDefault", "Localhost"):
            _record(steps, ctx, RISKY, _where(container), "seccompProfile.type: RuntimeDefault",
                    f"overrides an explicit {profile.get('type')!r} profile",
                    lambda profile=profile: profile.__setitem__("type", "RuntimeDefault"))


@fixer(check="runAsNonRoot", summary="runAsNonRoot: true when runAsUser is non-zero")
def fix_run_as_non_root(target: PodTarget, finding: Finding, ctx: FixContext, steps: list[Step]) -> None:
    """Set the pod's runAsNonRoot: true; safe only when every container's runAsUser is non-zero."""
    containers = _all_containers(target)
    for _, _, container in containers:
        if _get(container, "securityContext", "runAsNonRoot") is False:
            sc = container["securityContext"]
            _record(steps, ctx, RISKY, _where(container), "runAsNonRoot: true",
                    "overrides an explicit runAsNonRoot: false; the kubelet will refuse to start a root image",
                    lambda sc=sc: sc.__setitem__("runAsNonRoot", True))
    pod_value = _get(target.spec, "securityContext", "runAsNonRoot")
    if pod_value is True:
        return
    if pod_value is None and containers and all(
        _get(c, "securityContext", "runAsNonRoot") is True for _, _, c in containers
    ):
        return
    known_users = all(
        isinstance(u := _effective(target, c, "runAsUser"), int) and not isinstance(u, bool) and u > 0
        for _, _, c in containers
    )
    sc = _sc(target.spec, create=True)
    if sc is None:
        steps.append(Step(MANUAL, "pod", "runAsNonRoot: true", "securityContext is malformed"))
        return
    if pod_value is None and known_users:
        tier, why = SAFE, ""
    elif pod_value is None:
        tier, why = RISKY, (
            "no runAsUser says which user runs: the kubelet refuses to start a container whose "
            "image runs as root or names its user (USER app); set runAsUser to the image's UID"
        )
    else:
        tier, why = RISKY, "overrides an explicit runAsNonRoot: false on the pod"
    _record(steps, ctx, tier, "pod", "runAsNonRoot: true", why, lambda: sc.__setitem__("runAsNonRoot", True))


@fixer(check="privileged", summary="privileged: false (risky)")
def fix_privileged(target: PodTarget, finding: Finding, ctx: FixContext, steps: list[Step]) -> None:
    """Turn privileged off (always risky: someone asked for it)."""
    for _, _, container in target.containers or _all_containers(target):
        sc = _sc(container, create=False)
        if sc is not None and sc.get("privileged") is True:
            _record(steps, ctx, RISKY, _where(container), "privileged: false",
                    "the container asked for every device and capability of the node; it may need some of them",
                    lambda sc=sc: sc.__setitem__("privileged", False))


@fixer(check="procMount_restricted", summary="procMount: Default (risky)")
@fixer(check="procMount", summary="procMount: Default (risky)")
def fix_proc_mount(target: PodTarget, finding: Finding, ctx: FixContext, steps: list[Step]) -> None:
    """Set procMount back to Default (risky: someone asked for Unmasked)."""
    for _, _, container in target.containers or _all_containers(target):
        sc = _sc(container, create=False)
        if sc is not None and sc.get("procMount") not in (None, "Default"):
            _record(steps, ctx, RISKY, _where(container), "procMount: Default",
                    "overrides an explicit Unmasked /proc (nested container runtimes need it)",
                    lambda sc=sc: sc.__setitem__("procMount", "Default"))


@fixer(check="appArmorProfile", summary="AppArmor RuntimeDefault (risky)")
def fix_apparmor(target: PodTarget, finding: Finding, ctx: FixContext, steps: list[Step]) -> None:
    """Replace an Unconfined AppArmor profile by the runtime's default (risky)."""
    why = "overrides an explicit unconfined AppArmor profile"
    for holder, where in [(target.spec, "pod")] + [(c, _where(c)) for _, _, c in _all_containers(target)]:
        profile = _get(holder, "securityContext", "appArmorProfile")
        if isinstance(profile, dict) and profile.get("type") not in ("RuntimeDefault", "Localhost"):
            _record(steps, ctx, RISKY, where, "appArmorProfile.type: RuntimeDefault", why,
                    lambda profile=profile: profile.__setitem__("type", "RuntimeDefault"))
    annotations = target.metadata.get("annotations") if isinstance(target.metadata, dict) else None
    if isinstance(annotations, dict):
        for key, value in list(annotations.items()):
            if str(key).startswith("container.apparmor.security.beta.kubernetes.io/") and not (
                value == "runtime/default" or str(value).startswith("localhost/")
            ):
                _record(steps, ctx, RISKY, f"annotation {key}", "runtime/default", why,
                        lambda key=key: annotations.__setitem__(key, "runtime/default"))


TMP_VOLUME_NAMES = ("tmp", "kube-auditor-tmp")


def _tmp_volume_name(spec: dict[str, Any]) -> str | None:
    """The emptyDir volume to mount at /tmp: one the fix added before, or a free name."""
    volumes = spec.get("volumes")
    if volumes is not None and not isinstance(volumes, list):
        return None
    used = {v.get("name"): v for v in volumes or [] if isinstance(v, dict)}
    for name in TMP_VOLUME_NAMES:
        existing = used.get(name)
        if existing is None:
            return name
        if set(existing) == {"name", "emptyDir"}:
            return name
    return None


def _mounts_tmp(container: dict[str, Any]) -> bool:
    for mount in container.get("volumeMounts") or []:
        if isinstance(mount, dict) and str(mount.get("mountPath", "")).rstrip("/") in ("/tmp", ""):
            return True
    return False


@fixer(rule="KA-CTR-006", summary="readOnlyRootFilesystem: true and an emptyDir at /tmp (risky)")
def fix_read_only_root(target: PodTarget, finding: Finding, ctx: FixContext, steps: list[Step]) -> None:
    """Make the root filesystem read-only and give the container a writable /tmp (risky)."""
    for _, _, container in target.containers:
        where = _where(container)
        current = _get(container, "securityContext", "readOnlyRootFilesystem")
        if current is True:
            continue
        if container.get("securityContext") is not None and not isinstance(container.get("securityContext"), dict):
            steps.append(Step(MANUAL, where, "readOnlyRootFilesystem: true", "securityContext is malformed"))
            continue
        mounts = container.get("volumeMounts")
        volume = _tmp_volume_name(target.spec)
        add_tmp = not _mounts_tmp(container)
        if add_tmp and (volume is None or (mounts is not None and not isinstance(mounts, list))):
            steps.append(Step(MANUAL, where, "readOnlyRootFilesystem: true with an emptyDir at /tmp",
                              "volumes or volumeMounts are malformed, or the volume names are taken"))
            continue
        why = "the application can no longer write outside its volumes (logs, caches, PID files)"
        if current is False:
            why = "overrides an explicit readOnlyRootFilesystem: false; " + why
        what = "readOnlyRootFilesystem: true" + (f", emptyDir volume {volume!r} mounted at /tmp" if add_tmp else "")

        def change(container=container, volume=volume, add_tmp=add_tmp) -> None:
            sc = _sc(container, create=True)
            assert sc is not None
            sc["readOnlyRootFilesystem"] = True
            if add_tmp:
                volumes = target.spec.setdefault("volumes", [])
                if not any(isinstance(v, dict) and v.get("name") == volume for v in volumes):
                    volumes.append({"name": volume, "emptyDir": {}})
                container.setdefault("volumeMounts", []).append({"name": volume, "mountPath": "/tmp"})

        _record(steps, ctx, RISKY, where, what, why, change)


_TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"


def _uses_token_explicitly(target: PodTarget) -> bool:
    for volume in target.spec.get("volumes") or []:
        sources = _get(volume, "projected", "sources") if isinstance(volume, dict) else None
        if isinstance(sources, list) and any(isinstance(s, dict) and "serviceAccountToken" in s for s in sources):
            return True
    for _, _, container in _all_containers(target):
        for mount in container.get("volumeMounts") or []:
            if isinstance(mount, dict) and str(mount.get("mountPath", "")).startswith(_TOKEN_PATH):
                return True
    return False


@fixer(rule="KA-CTR-007", summary="automountServiceAccountToken: false on the pod")
def fix_token_automount(target: PodTarget, finding: Finding, ctx: FixContext, steps: list[Step]) -> None:
    """Stop mounting an API token the pod's ServiceAccount has no use for."""
    current = target.spec.get("automountServiceAccountToken")
    if current is False:
        return
    if _uses_token_explicitly(target):
        steps.append(Step(MANUAL, "pod", "automountServiceAccountToken: false",
                          "the pod mounts a ServiceAccount token path or projected token itself"))
        return
    why = ""
    tier = SAFE
    if current is True:
        tier, why = RISKY, "overrides an explicit automountServiceAccountToken: true on the pod"
    else:
        account = ctx.inventory.get(
            "ServiceAccount", service_account_name(target.spec), finding.resource.namespace
        )
        if account is not None and account.obj.get("automountServiceAccountToken") is True:
            tier, why = RISKY, "overrides the ServiceAccount's explicit automountServiceAccountToken: true"
    _record(steps, ctx, tier, "pod", "automountServiceAccountToken: false", why,
            lambda: target.spec.__setitem__("automountServiceAccountToken", False))


@dataclass
class FixerResult:
    steps: list[Step] = field(default_factory=list)

    @property
    def applied(self) -> list[Step]:
        return [s for s in self.steps if s.applied]

    @property
    def pending(self) -> list[Step]:
        return [s for s in self.steps if not s.applied]


def run_fixer(found: Fixer, obj: dict[str, Any], finding: Finding, ctx: FixContext) -> FixerResult:
    """Run one fixer on ``obj`` (a copy of the finding's object, changed in place)."""
    result = FixerResult()
    target = pod_target(obj, finding)
    if target is None:
        result.steps.append(Step(MANUAL, "object", finding.remediation, "no pod spec found in the object"))
        return result
    found.func(target, finding, ctx, result.steps)
    return result


def registry_rule_ids() -> list[str]:
    """Rule ids that have a fixer of their own (Pod Security rules are found by check)."""
    return sorted(_BY_RULE)
