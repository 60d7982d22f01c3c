"""seLinuxOptions: custom SELinux types, users and roles (baseline; v1.0, v1.31).

Only the container types that container runtimes label workloads with are allowed;
``user`` and ``role`` must stay empty. v1.31 adds ``container_engine_t`` (for nested
container engines).
"""

from __future__ import annotations

from ..podview import PodView, as_dict, as_text
from ..result import Violation
from ..wording import containers_phrase, join_quote, pluralize

CHECK_ID = "seLinuxOptions"

ALLOWED_TYPES_V1_0 = frozenset({"", "container_t", "container_init_t", "container_kvm_t"})
ALLOWED_TYPES_V1_31 = ALLOWED_TYPES_V1_0 | {"container_engine_t"}


def _check(pod: PodView, allowed_types: frozenset[str]) -> Violation | None:
    setters = []
    bad_types: set[str] = set()
    user_set = role_set = False
    paths = []

    def invalid(options: dict, base: str) -> bool:
        nonlocal user_set, role_set
        valid = True
        selinux_type = as_text(options.get("type"))
        if selinux_type not in allowed_types:
            valid = False
            bad_types.add(selinux_type)
            paths.append(f"{base}.type")
        if as_text(options.get("user")):
            valid = False
            user_set = True
            paths.append(f"{base}.user")
        if as_text(options.get("role")):
            valid = False
            role_set = True
            paths.append(f"{base}.role")
        return not valid

    pod_options = as_dict(pod.pod_sc_field("seLinuxOptions"))
    if pod_options is not None and invalid(pod_options, "spec.securityContext.seLinuxOptions"):
        setters.append("pod")

    names = []
    for kind, index, name, sc, _ in pod.containers:
        if sc is None:
            continue
        options = sc.get("seLinuxOptions")
        if options is None:
            continue
        options = as_dict(options)
        if options is not None and invalid(
            options, f"spec.{kind}[{index}].securityContext.seLinuxOptions"
        ):
            names.append(name)
    if names:
        setters.append(containers_phrase(names))
    if not setters:
        return None

    problems = []
    if bad_types:
        problems.append(
            f"{pluralize('type', 'types', len(bad_types))} {join_quote(sorted(bad_types))}"
        )
    if user_set:
        problems.append("user may not be set")
    if role_set:
        problems.append("role may not be set")
    return Violation(
        CHECK_ID,
        "seLinuxOptions",
        f"{' and '.join(setters)} set forbidden securityContext.seLinuxOptions: {'; '.join(problems)}",
        tuple(names),
        tuple(paths),
    )


def se_linux_options_v1_0(pod: PodView) -> Violation | None:
    """Allow types "", container_t, container_init_t, container_kvm_t; no user or role."""
    return _check(pod, ALLOWED_TYPES_V1_0)


def se_linux_options_v1_31(pod: PodView) -> Violation | None:
    """As v1.0, plus type container_engine_t."""
    return _check(pod, ALLOWED_TYPES_V1_31)
