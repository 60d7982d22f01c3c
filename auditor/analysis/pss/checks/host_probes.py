"""hostProbesAndHostLifecycle: probes and hooks aimed at another host (baseline, v1.34).

A ``host`` on an httpGet/tcpSocket probe or lifecycle handler makes the kubelet connect
to an arbitrary address from the node, a server-side request forgery primitive.
"""

from __future__ import annotations

from ..podview import PodView, as_dict, as_text
from ..result import Violation
from ..wording import join_quote, pluralize

CHECK_ID = "hostProbesAndHostLifecycle"

_PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
_LIFECYCLE_HANDLERS = ("postStart", "preStop")
_ACTIONS = ("httpGet", "tcpSocket")


def _forbidden_hosts(handler: dict | None, path: str, hosts: list[str], paths: list[str]) -> None:
    """Collect the non-empty ``host`` of the handler's httpGet and tcpSocket actions."""
    if handler is None:
        return
    for action in _ACTIONS:
        details = as_dict(handler.get(action))
        if details is None:
            continue
        host = details.get("host")
        if host:
            hosts.append(as_text(host))
            paths.append(f"{path}.{action}.host")


def host_probes_v1_34(pod: PodView) -> Violation | None:
    """Forbid a non-empty host in probes (liveness/readiness/startup) and postStart/preStop."""
    bad_containers: set[str] = set()
    hosts: list[str] = []
    paths: list[str] = []
    for kind, index, name, _, container in pod.containers:
        found_before = len(hosts)
        base = f"spec.{kind}[{index}]"
        for probe in _PROBES:
            if probe in container:
                _forbidden_hosts(as_dict(container[probe]), f"{base}.{probe}", hosts, paths)
        lifecycle = container.get("lifecycle")
        if lifecycle is not None:
            lifecycle = as_dict(lifecycle)
            if lifecycle is not None:
                for hook in _LIFECYCLE_HANDLERS:
                    _forbidden_hosts(
                        as_dict(lifecycle.get(hook)), f"{base}.lifecycle.{hook}", hosts, paths
                    )
        if len(hosts) > found_before:
            bad_containers.add(name)
    if not bad_containers:
        return None
    # PSA keeps both as sets, so they come out sorted and de-duplicated.
    names = sorted(bad_containers)
    unique_hosts = sorted(set(hosts))
    return Violation(
        CHECK_ID,
        "probe or lifecycle host",
        f"{pluralize('container', 'containers', len(names))} {join_quote(names)} "
        f"{pluralize('uses', 'use', len(names))} "
        f"{pluralize('probe or lifecycle host', 'probe or lifecycle hosts', len(unique_hosts))} "
        f"{join_quote(unique_hosts)}",
        tuple(names),
        tuple(paths),
    )
