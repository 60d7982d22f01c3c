"""The Pod Security checks in CEL, at policy version latest.

One expression per upstream check, written from the check functions of
:mod:`auditor.analysis.pss` and their constants (allowed capabilities, safe sysctls,
volume types, SELinux types), each true when a pod **violates** the check. They judge
objects as the API server stores them (defaulted and validated), which is all a policy
ever sees. Older policy versions (``pss.version`` other than latest) are not compiled.

The Pod Security pack's ``pss.check`` analyzer declares its CEL form here, so its rules
(one per check) export as policies; without that pack, :func:`pss_check_forms` exports
the checks in force at the configured level straight from the catalogue.
"""

from __future__ import annotations

from ..analysis.pss import CHECKS_BY_ID, NEWEST_MINOR, checks_at, parse_level, parse_version
from ..analysis.pss.checks import apparmor, capabilities, seccomp, selinux, sysctls, volumes
from ..analysis.pss.levels import Level
from ..analysis.registry import AnalysisSettings
from ..engine.rules import Rule
from ..threat import Severity
from .cel import POD_META, POD_SPEC, CannotCompile, and_, literal, not_, or_
from .vap import CONTAINERS, POD_KINDS, CelForm, cel_form

P, M, C = POD_SPEC, POD_META, CONTAINERS


def _has(base: str, *path: str) -> str:
    """``has(a.b) && has(a.b.c) ...`` down a path of identifiers."""
    parts, current = [], base
    for key in path:
        current = f"{current}.{key}"
        parts.append(f"has({current})")
    return and_(*parts)


def _sc(var: str, *path: str) -> str:
    return _has(var, "securityContext", *path)


def _field(var: str, *path: str) -> str:
    return ".".join((var, "securityContext", *path))


NOT_WINDOWS = not_(and_(_has(P, "os", "name"), f"{P}.os.name == 'windows'"))
HOST_USERS = not_(and_(_has(P, "hostUsers"), f"{P}.hostUsers == false"))
POD_SC = f"{P}.securityContext"


def _pod_and_containers(test) -> str:
    """The test on the pod's securityContext or on any container's."""
    return or_(test(P), f"{C}.exists(c, {test('c')})")


def _allowed_profile(var: str, field: str) -> str:
    """``var``'s profile of ``field`` is set and of type RuntimeDefault or Localhost."""
    return and_(_sc(var, field, "type"), f"{_field(var, field, 'type')} in ['RuntimeDefault', 'Localhost']")


def _bad_profile(var: str, field: str) -> str:
    """``var`` sets a profile of ``field`` of another type (or without a type)."""
    return and_(_sc(var, field), not_(_allowed_profile(var, field)))


def _host_in(var: str, handler: str) -> str:
    return or_(*(
        and_(_has(var, *handler.split("."), action, "host"), f"{var}.{handler}.{action}.host != ''")
        for action in ("httpGet", "tcpSocket")
    ))


def _selinux_bad(var: str) -> str:
    allowed = literal(sorted(selinux.ALLOWED_TYPES_V1_31))
    base = _field(var, "seLinuxOptions")
    return and_(
        _sc(var, "seLinuxOptions"),
        or_(
            and_(f"has({base}.type)", f"!({base}.type in {allowed})"),
            and_(f"has({base}.user)", f"{base}.user != ''"),
            and_(f"has({base}.role)", f"{base}.role != ''"),
        ),
    )


def _annotations_bad(prefix: str, allowed) -> str:
    return and_(
        f"has({M}.annotations)",
        f"{M}.annotations.exists(k, k.startsWith({literal(prefix)}) && !({allowed(f'{M}.annotations[k]')}))",
    )


def _non_root(var: str, value: str) -> str:
    return and_(_sc(var, "runAsNonRoot"), f"{_field(var, 'runAsNonRoot')} == {value}")


#: check id → CEL that holds when a pod violates the check (policy version latest).
VIOLATES: dict[str, str] = {
    "privileged": f"{C}.exists(c, {and_(_sc('c', 'privileged'), 'c.securityContext.privileged == true')})",
    "hostNamespaces": or_(*(and_(f"has({P}.{f})", f"{P}.{f} == true") for f in ("hostNetwork", "hostPID", "hostIPC"))),
    "hostPathVolumes": and_(f"has({P}.volumes)", f"{P}.volumes.exists(v, has(v.hostPath))"),
    "hostPorts": f"{C}.exists(c, has(c.ports) && c.ports.exists(p, has(p.hostPort) && p.hostPort != 0))",
    "capabilities_baseline": (
        f"{C}.exists(c, {_sc('c', 'capabilities', 'add')} && c.securityContext.capabilities.add.exists(a, "
        f"!(a in {literal(sorted(capabilities.BASELINE_ALLOWED_CAPABILITIES))})))"
    ),
    "appArmorProfile": or_(
        _pod_and_containers(lambda var: _bad_profile(var, "appArmorProfile")),
        _annotations_bad(
            apparmor.ANNOTATION_PREFIX,
            lambda v: f"{v} == '' || {v} == 'runtime/default' || {v}.startsWith('localhost/')",
        ),
    ),
    "seLinuxOptions": _pod_and_containers(_selinux_bad),
    "procMount": and_(
        HOST_USERS,
        f"{C}.exists(c, {_sc('c', 'procMount')} && c.securityContext.procMount != 'Default')",
    ),
    "procMount_restricted": f"{C}.exists(c, {_sc('c', 'procMount')} && c.securityContext.procMount != 'Default')",
    "seccompProfile_baseline": _pod_and_containers(lambda var: _bad_profile(var, "seccompProfile")),
    "sysctls": and_(
        _has(P, "securityContext", "sysctls"),
        f"{POD_SC}.sysctls.exists(s, !(s.name in {literal(sorted(sysctls.SAFE_SYSCTLS_V1_37))}))",
    ),
    "windowsHostProcess": _pod_and_containers(
        lambda var: and_(_sc(var, "windowsOptions", "hostProcess"), f"{_field(var, 'windowsOptions', 'hostProcess')} == true")
    ),
    "hostProbesAndHostLifecycle": f"{C}.exists(c, " + or_(
        *(_host_in("c", probe) for probe in ("livenessProbe", "readinessProbe", "startupProbe")),
        *(_host_in("c", f"lifecycle.{hook}") for hook in ("postStart", "preStop")),
    ) + ")",
    "allowPrivilegeEscalation": and_(
        NOT_WINDOWS,
        f"{C}.exists(c, !({and_(_sc('c', 'allowPrivilegeEscalation'), 'c.securityContext.allowPrivilegeEscalation == false')}))",
    ),
    "capabilities_restricted": and_(
        NOT_WINDOWS,
        f"{C}.exists(c, " + or_(
            not_(and_(_sc("c", "capabilities", "drop"), "'ALL' in c.securityContext.capabilities.drop")),
            and_(_sc("c", "capabilities", "add"), "c.securityContext.capabilities.add.exists(a, a != 'NET_BIND_SERVICE')"),
        ) + ")",
    ),
    "restrictedVolumes": and_(
        f"has({P}.volumes)",
        f"{P}.volumes.exists(v, "
        + and_(
            not_(or_(*(f"has(v.{s})" for s in volumes.RESTRICTED_ALLOWED_SOURCES))),
            or_(*(f"has(v.{s})" for s in volumes.RESTRICTED_FORBIDDEN_SOURCES)),
        )
        + ")",
    ),
    "runAsNonRoot": and_(
        HOST_USERS,
        or_(
            _non_root(P, "false"),
            f"{C}.exists(c, {_non_root('c', 'false')})",
            and_(not_(_non_root(P, "true")), f"{C}.exists(c, {not_(_non_root('c', 'true'))})"),
        ),
    ),
    "runAsUser": and_(
        HOST_USERS,
        _pod_and_containers(lambda var: and_(_sc(var, "runAsUser"), f"{_field(var, 'runAsUser')} == 0")),
    ),
    "seccompProfile_restricted": and_(
        NOT_WINDOWS,
        or_(
            _pod_and_containers(lambda var: _bad_profile(var, "seccompProfile")),
            and_(not_(_allowed_profile(P, "seccompProfile")), f"{C}.exists(c, {not_(_sc('c', 'seccompProfile'))})"),
        ),
    ),
}

assert set(VIOLATES) == set(CHECKS_BY_ID), "every Pod Security check needs a CEL form"
assert seccomp.BASELINE_CHECK_ID in VIOLATES

#: severity of a check's policy when exported from the catalogue
SEVERITY: dict[str, Severity] = {
    "privileged": Severity.critical,
    "hostNamespaces": Severity.critical,
    "hostPathVolumes": Severity.critical,
}


def _latest_only(settings: AnalysisSettings) -> None:
    version = parse_version(settings.pss_version or "latest")
    if version.effective_minor != NEWEST_MINOR:
        raise CannotCompile(
            f"the Pod Security checks are compiled at policy version latest (v1.{NEWEST_MINOR}), "
            f"not {version.label}"
        )


def check_form(check_id: str) -> CelForm:
    return CelForm(VIOLATES[check_id], POD_KINDS)


@cel_form("pss.check")
def _pss_check(rule: Rule, params, settings: AnalysisSettings) -> CelForm:
    """A rule of the Pod Security pack: its check, when in force at the scan's level."""
    _latest_only(settings)
    level = parse_level(settings.pss_level or "restricted")
    check = CHECKS_BY_ID[params.check]
    if level is Level.PRIVILEGED or (level is Level.BASELINE and check.level is Level.RESTRICTED):
        raise CannotCompile(f"check {params.check} is not in force at level {level.value}")
    return check_form(params.check)


def pss_check_forms(settings: AnalysisSettings) -> list[tuple[str, Severity, str, CelForm]]:
    """(check id, severity, description, form) of every check in force at the configured
    level, for exports without the Pod Security pack."""
    _latest_only(settings)
    level = parse_level(settings.pss_level or "restricted")
    out = []
    for check_id in checks_at(level, "latest"):
        check = CHECKS_BY_ID[check_id]
        default = Severity.high if check.level is Level.BASELINE else Severity.medium
        out.append((check_id, SEVERITY.get(check_id, default), check.description, check_form(check_id)))
    return out
