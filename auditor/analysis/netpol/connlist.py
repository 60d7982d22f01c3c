"""The connectivity list: every allowed connection between workloads and external ranges.

One line per ordered pair with something allowed: ``SRC => DST : CONNS``. Workloads are
``ns/name[Kind]``; external peers are IPv4 ranges ``a.b.c.d-e.f.g.h[External]``, cut at
every ipBlock boundary the relevant rules use (ingress rules cut sources, egress rules cut
destinations); the ingress controller is ``{ingress-controller}``. Self-connections and
external-to-external pairs are left out. Lines sort in plain byte order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

from ...runtime import gc_paused
from .conns import ConnSet
from .engine import Engine
from .ingress import INGRESS_CONTROLLER, front_door_exposures
from .ipranges import IPRange, format_range
from .model import EGRESS, Workload

Peer = Workload | IPRange | str  # str: the ingress controller


def peer_name(peer: Peer) -> str:
    if isinstance(peer, Workload):
        return peer.display
    if isinstance(peer, tuple):
        return f"{format_range(peer)}[External]"
    return peer


@dataclass(frozen=True)
class Connection:
    src: Peer
    dst: Peer
    conns: ConnSet

    @property
    def src_name(self) -> str:
        return peer_name(self.src)

    @property
    def dst_name(self) -> str:
        return peer_name(self.dst)

    @cached_property
    def line(self) -> str:
        return f"{self.src_name} => {self.dst_name} : {self.conns}"


def connections(engine: Engine, ingress_controller: bool = True) -> Iterator[Connection]:
    classes = engine.classes
    for src, dst, conns in engine.class_edges():
        for a in classes[src].workloads:
            for b in classes[dst].workloads:
                if a is not b:
                    yield Connection(a, b, conns)
    for direction, index, segment, conns in engine.external_edges():
        ip = engine.segments(direction).ranges[segment]
        for workload in classes[index].workloads:
            if direction == EGRESS:
                yield Connection(workload, ip, conns)
            else:
                yield Connection(ip, workload, conns)
    if ingress_controller:
        for item in front_door_exposures(engine):
            if not item.allowed.is_empty:
                yield Connection(INGRESS_CONTROLLER, item.workload, item.allowed)


def sorted_connections(engine: Engine, ingress_controller: bool = True) -> list[Connection]:
    with gc_paused():
        items = list(connections(engine, ingress_controller))
        items.sort(key=lambda c: c.line.encode())
    return items


def connlist_text(engine: Engine, ingress_controller: bool = True) -> str:
    """The txt format: one line per connection, byte-sorted, each ending with a newline."""
    return "".join(c.line + "\n" for c in sorted_connections(engine, ingress_controller))
