"""capabilities_baseline (v1.0) and capabilities_restricted (v1.22; Windows exempt from v1.25).

Baseline only limits what may be *added* (the container runtime's default set, no
NET_RAW). Restricted requires dropping ``ALL`` and adding back at most
``NET_BIND_SERVICE``. Names are compared exactly as written: ``chown`` and
``CAP_CHOWN`` are not ``CHOWN``, which is what PSA does.
"""

from __future__ import annotations

from ..podview import PodView, as_dict, as_list, as_text
from ..result import Violation
from ..wording import containers_phrase, join_quote

BASELINE_CHECK_ID = "capabilities_baseline"
RESTRICTED_CHECK_ID = "capabilities_restricted"

#: Capabilities baseline pods may add: the default set of container runtimes.
BASELINE_ALLOWED_CAPABILITIES = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)


def _capabilities(sc: dict | None) -> dict | None:
    return None if sc is None else as_dict(sc.get("capabilities"))


def _added(capabilities: dict) -> list[str]:
    """The names in ``capabilities.add``, as written."""
    added = capabilities.get("add")
    return [as_text(cap) for cap in as_list(added)] if added else []


def capabilities_baseline_v1_0(pod: PodView) -> Violation | None:
    """Forbid adding capabilities outside the runtime default set."""
    names = []
    non_default: set[str] = set()
    paths = []
    for kind, index, name, sc, _ in pod.containers:
        caps = _capabilities(sc)
        if caps is None:
            continue
        bad = [cap for cap in _added(caps) if cap not in BASELINE_ALLOWED_CAPABILITIES]
        if bad:
            names.append(name)
            non_default.update(bad)
            paths.append(f"spec.{kind}[{index}].securityContext.capabilities.add")
    if not names:
        return None
    return Violation(
        BASELINE_CHECK_ID,
        "non-default capabilities",
        f"{containers_phrase(names)} must not include {join_quote(sorted(non_default))} "
        "in securityContext.capabilities.add",
        tuple(names),
        tuple(paths),
    )


def capabilities_restricted_v1_22(pod: PodView) -> Violation | None:
    """Require ``drop: [ALL]`` and allow adding only ``NET_BIND_SERVICE``."""
    missing_drop_all = []
    adding_forbidden = []
    forbidden_caps: set[str] = set()
    paths = []
    for kind, index, name, sc, _ in pod.containers:
        caps = _capabilities(sc)
        if caps is None or "ALL" not in as_list(caps.get("drop")):
            missing_drop_all.append(name)
            paths.append(f"spec.{kind}[{index}].securityContext.capabilities.drop")
        if caps is None:
            continue
        bad = [cap for cap in _added(caps) if cap != "NET_BIND_SERVICE"]
        if bad:
            adding_forbidden.append(name)
            forbidden_caps.update(bad)
            paths.append(f"spec.{kind}[{index}].securityContext.capabilities.add")
    if not missing_drop_all and not adding_forbidden:
        return None
    details = []
    if missing_drop_all:
        details.append(
            f'{containers_phrase(missing_drop_all)} must set securityContext.capabilities.drop=["ALL"]'
        )
    if adding_forbidden:
        details.append(
            f"{containers_phrase(adding_forbidden)} must not include "
            f"{join_quote(sorted(forbidden_caps))} in securityContext.capabilities.add"
        )
    offenders = list(dict.fromkeys(missing_drop_all + adding_forbidden))
    return Violation(
        RESTRICTED_CHECK_ID,
        "unrestricted capabilities",
        "; ".join(details),
        tuple(offenders),
        tuple(paths),
    )


def capabilities_restricted_v1_25(pod: PodView) -> Violation | None:
    """As v1.22, but Windows pods are exempt (the API forbids capabilities on them)."""
    if pod.is_windows:
        return None
    return capabilities_restricted_v1_22(pod)
