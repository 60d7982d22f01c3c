"""seccompProfile_baseline (v1.0 annotations, v1.19 fields) and seccompProfile_restricted.

Before policy v1.19 seccomp was configured with alpha annotations, so the v1.0
revision reads only those; from v1.19 only the ``securityContext.seccompProfile``
fields count. Baseline forbids an explicit ``Unconfined``; restricted (v1.19) also
requires a profile to be set, on the pod or on every container, and exempts Windows
pods from v1.25.
"""

from __future__ import annotations

from ..podview import PodView, as_text, profile_type
from ..result import Violation
from ..wording import containers_phrase, go_quote, join_quote, pluralize

BASELINE_CHECK_ID = "seccompProfile_baseline"
RESTRICTED_CHECK_ID = "seccompProfile_restricted"

POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod"
CONTAINER_ANNOTATION_PREFIX = "container.seccomp.security.alpha.kubernetes.io/"
_ALLOWED_TYPES = frozenset({"RuntimeDefault", "Localhost"})


def _allowed_annotation(value: str) -> bool:
    return value in ("runtime/default", "docker/default") or value.startswith("localhost/")


def seccomp_profile_baseline_v1_0(pod: PodView) -> Violation | None:
    """Annotations may only name runtime/default, docker/default or localhost/<profile>."""
    annotations = pod.annotations
    if not annotations:
        return None
    forbidden: dict[str, str] = {}  # rendered "key=value" -> key
    if POD_ANNOTATION in annotations:
        value = as_text(annotations[POD_ANNOTATION])
        if not _allowed_annotation(value):
            forbidden[f"{POD_ANNOTATION}={go_quote(value)}"] = POD_ANNOTATION
    names = []
    for _, _, name, _, _ in pod.containers:
        key = CONTAINER_ANNOTATION_PREFIX + name
        if key in annotations:
            value = as_text(annotations[key])
            if not _allowed_annotation(value):
                forbidden[f"{key}={go_quote(value)}"] = key
                names.append(name)
    if not forbidden:
        return None
    rendered = sorted(forbidden)
    return Violation(
        BASELINE_CHECK_ID,
        "seccompProfile",
        f"forbidden {pluralize('annotation', 'annotations', len(rendered))} {', '.join(rendered)}",
        tuple(dict.fromkeys(names)),
        tuple(f"metadata.annotations[{forbidden[text]}]" for text in rendered),
    )


def _explicitly_bad(pod: PodView):
    """Pod/container setters of a bad type, bad values, paths, and the pod's valid-profile flag."""
    setters = []
    bad_values: set[str] = set()
    paths = []
    pod_type = profile_type(pod.pod_sc, "seccompProfile")
    pod_profile_valid = False
    if pod_type is not None:
        if pod_type in _ALLOWED_TYPES:
            pod_profile_valid = True
        else:
            setters.append("pod")
            bad_values.add(pod_type)
            paths.append("spec.securityContext.seccompProfile.type")
    return setters, bad_values, paths, pod_profile_valid


def _explicit_forbidden(check_id, setters, names, bad_values, paths) -> Violation:
    if names:
        setters.append(containers_phrase(names))
    return Violation(
        check_id,
        "seccompProfile",
        f"{' and '.join(setters)} must not set securityContext.seccompProfile.type to "
        f"{join_quote(sorted(bad_values))}",
        tuple(names),
        tuple(paths),
    )


def seccomp_profile_baseline_v1_19(pod: PodView) -> Violation | None:
    """Pod and container seccompProfile.type, when set, must be RuntimeDefault or Localhost."""
    setters, bad_values, paths, _ = _explicitly_bad(pod)
    names = []
    for kind, index, name, sc, _ in pod.containers:
        container_type = profile_type(sc, "seccompProfile")
        if container_type is not None and container_type not in _ALLOWED_TYPES:
            names.append(name)
            bad_values.add(container_type)
            paths.append(f"spec.{kind}[{index}].securityContext.seccompProfile.type")
    if not setters and not names:
        return None
    return _explicit_forbidden(BASELINE_CHECK_ID, setters, names, bad_values, paths)


def seccomp_profile_restricted_v1_19(pod: PodView) -> Violation | None:
    """Require RuntimeDefault or Localhost on the pod, or on every container that lacks it."""
    setters, bad_values, paths, pod_profile_valid = _explicitly_bad(pod)
    explicit = []
    implicit = []
    implicit_paths = []
    for kind, index, name, sc, _ in pod.containers:
        container_type = profile_type(sc, "seccompProfile")
        if container_type is not None:
            if container_type not in _ALLOWED_TYPES:
                explicit.append(name)
                bad_values.add(container_type)
                paths.append(f"spec.{kind}[{index}].securityContext.seccompProfile.type")
        elif not pod_profile_valid:
            implicit.append(name)
            implicit_paths.append(f"spec.{kind}[{index}].securityContext.seccompProfile.type")
    if setters or explicit:
        return _explicit_forbidden(RESTRICTED_CHECK_ID, setters, explicit, bad_values, paths)
    if implicit:
        return Violation(
            RESTRICTED_CHECK_ID,
            "seccompProfile",
            f"pod or {containers_phrase(implicit)} must set securityContext.seccompProfile.type "
            'to "RuntimeDefault" or "Localhost"',
            tuple(implicit),
            tuple(implicit_paths),
        )
    return None


def seccomp_profile_restricted_v1_25(pod: PodView) -> Violation | None:
    """As v1.19, but Windows pods are exempt (seccomp is Linux-only)."""
    if pod.is_windows:
        return None
    return seccomp_profile_restricted_v1_19(pod)
