"""hostPorts: binding container ports on the node's interfaces (baseline, v1.0)."""

from __future__ import annotations

from ..podview import PodView, as_dict, as_list
from ..result import Violation
from ..wording import containers_phrase, pluralize

CHECK_ID = "hostPorts"


def _host_port_text(value: object) -> str | None:
    """The port as PSA prints it, or None when unset or 0 (allowed)."""
    return str(value) if value else None


def host_ports_v1_0(pod: PodView) -> Violation | None:
    """Forbid any non-zero ``ports[*].hostPort`` on any container."""
    names = []
    ports: set[str] = set()
    paths = []
    for kind, index, name, _, container in pod.containers:
        container_ports = container.get("ports")
        if not container_ports:
            continue
        uses_host_port = False
        for port_index, port in enumerate(as_list(container_ports)):
            port = as_dict(port)
            if port is None:
                continue
            text = _host_port_text(port.get("hostPort"))
            if text is not None:
                uses_host_port = True
                ports.add(text)
                paths.append(f"spec.{kind}[{index}].ports[{port_index}].hostPort")
        if uses_host_port:
            names.append(name)
    if not names:
        return None
    return Violation(
        CHECK_ID,
        "hostPort",
        f"{containers_phrase(names)} {pluralize('uses', 'use', len(names))} "
        f"{pluralize('hostPort', 'hostPorts', len(ports))} {', '.join(sorted(ports))}",
        tuple(names),
        tuple(paths),
    )
