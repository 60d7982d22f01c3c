"""One question, answered with its reasons: may A connect to B, and on what?

The answer names, for each side, whether the endpoint is isolated for that direction, the
policies that select it, and the exact rules (and rule peers) that admit the other side
with the ports they admit; or, when nothing does, says so policy by policy. External
destinations or sources given as a CIDR are split at every ipBlock boundary, so each part
gets an exact answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .conns import ALL, NONE, ConnSet
from .engine import Engine, NamedPorts, peer_matches, port_conns
from .ipranges import IPRange, Segments, contains, format_range, range_to_cidrs
from .model import EGRESS, INGRESS, PeerSpec, Policy, RuleSpec, Workload


@dataclass(frozen=True)
class Endpoint:
    """A workload, or an external address range."""

    workload: Workload | None = None
    ip: IPRange | None = None
    namespace_labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_external(self) -> bool:
        return self.workload is None

    @property
    def display(self) -> str:
        if self.workload is not None:
            return self.workload.display
        assert self.ip is not None
        cidrs = range_to_cidrs(self.ip)
        return cidrs[0] if len(cidrs) == 1 else f"{format_range(self.ip)}"

    @property
    def short(self) -> str:
        return self.workload.ref if self.workload is not None else self.display

    @property
    def named(self) -> NamedPorts | None:
        return self.workload.named_ports if self.workload is not None else None


@dataclass(frozen=True)
class RuleHit:
    policy: Policy
    rule: RuleSpec
    peer: PeerSpec | None  #: the peer that matched; ``None`` when the rule admits every peer
    conns: ConnSet

    def describe(self) -> str:
        peer = "every peer (no from/to)" if self.peer is None else self.peer.describe(self.policy.namespace)
        return f"{self.policy.ref} {self.rule.label} ({peer})"


@dataclass
class Side:
    """One direction's verdict: egress at the source or ingress at the destination."""

    direction: str
    endpoint: Endpoint
    other: Endpoint
    isolated: bool
    policies: list[Policy]
    hits: list[RuleHit]
    conns: ConnSet

    def reasons(self, protocol: str | None, port: int | None) -> list[str]:
        me, other = self.endpoint.short, self.other.display
        what = f" on {protocol} {port}" if port is not None else ""
        verb = "egress" if self.direction == EGRESS else "ingress"
        if not self.isolated:
            return [f"no policy selects {me} for {self.direction}, so all {verb} is allowed"]
        lines = []
        for policy in self.policies:
            mine = [h for h in self.hits if h.policy is policy]
            useful = [h for h in mine if port is None or h.conns.allows(protocol or "TCP", port)]
            if useful:
                for hit in useful:
                    peer = "every peer" if hit.peer is None else hit.peer.describe(policy.namespace)
                    lines.append(
                        f"policy {policy.ref} {hit.rule.label} admits {other} ({peer}) on {hit.conns}"
                    )
                continue
            line = f"policy {policy.ref} selects {me} for {self.direction} but none of its rules admits {other}{what}"
            if mine:
                line += "; " + "; ".join(f"{h.rule.label} admits only {h.conns}" for h in mine)
            lines.append(line)
        return lines


@dataclass
class Part:
    """The answer for one source/destination pair (one range of a CIDR)."""

    src: Endpoint
    dst: Endpoint
    egress: Side | None
    ingress: Side | None
    conns: ConnSet

    def allowed(self, protocol: str | None, port: int | None) -> bool:
        if port is not None:
            return self.conns.allows(protocol or "TCP", port)
        if protocol is not None:
            return self.conns.allows(protocol)
        return not self.conns.is_empty


@dataclass
class Answer:
    parts: list[Part]
    protocol: str | None
    port: int | None
    note: str | None = None

    @property
    def allowed(self) -> bool:
        return all(p.allowed(self.protocol, self.port) for p in self.parts)

    def text(self) -> str:
        lines = []
        for part in self.parts:
            ok = part.allowed(self.protocol, self.port)
            query = ""
            if self.port is not None:
                query = f" on {self.protocol} {self.port}"
            elif self.protocol is not None:
                query = f" on {self.protocol}"
            lines.append(
                f"{'ALLOWED' if ok else 'DENIED'}: {part.src.display} => {part.dst.display}{query}"
                f" (allowed: {part.conns})"
            )
            for side, title in ((part.egress, "egress at the source"), (part.ingress, "ingress at the destination")):
                if side is None:
                    lines.append(f"  {title}: {'external sources' if title.startswith('egress') else 'external destinations'} are not subject to NetworkPolicy")
                    continue
                reasons = side.reasons(self.protocol, self.port)
                lines.append(f"  {title} ({side.conns}):")
                lines += [f"    - {r}" for r in reasons]
        if self.note:
            lines.append(self.note)
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict:
        def side(s: Side | None):
            if s is None:
                return None
            return {
                "direction": s.direction,
                "isolated": s.isolated,
                "policies": [p.ref for p in s.policies],
                "rules": [
                    {"policy": h.policy.ref, "rule": h.rule.label, "field": h.rule.field,
                     "peer": None if h.peer is None else h.peer.index, "conn": str(h.conns)}
                    for h in s.hits
                ],
                "conn": str(s.conns),
                "reasons": s.reasons(self.protocol, self.port),
            }

        return {
            "allowed": self.allowed,
            "protocol": self.protocol,
            "port": self.port,
            "parts": [
                {
                    "src": p.src.display, "dst": p.dst.display, "conn": str(p.conns),
                    "allowed": p.allowed(self.protocol, self.port),
                    "egress": side(p.egress), "ingress": side(p.ingress),
                }
                for p in self.parts
            ],
        }


def _peer_admits(peer: PeerSpec, policy: Policy, other: Endpoint) -> bool:
    if other.workload is not None:
        w = other.workload
        return peer_matches(peer, policy.namespace, w.namespace, other.namespace_labels, w.labels)
    return peer.ipblock is not None and peer.error is None and other.ip is not None and contains(peer.ipblock.ranges, other.ip)


def evaluate_side(engine: Engine, direction: str, endpoint: Endpoint, other: Endpoint) -> Side:
    """Egress at ``endpoint`` towards ``other``, or ingress at ``endpoint`` from ``other``."""
    assert endpoint.workload is not None
    workload = endpoint.workload
    policies = engine.selecting_policies(workload, direction)
    named = workload.named_ports if direction == INGRESS else other.named
    hits: list[RuleHit] = []
    for policy in policies:
        for rule in policy.rules(direction):
            conns = port_conns(rule.ports, named)
            if rule.peers is None:
                hits.append(RuleHit(policy, rule, None, conns))
                continue
            for peer in rule.peers:
                if _peer_admits(peer, policy, other):
                    hits.append(RuleHit(policy, rule, peer, conns))
                    break
    total = ALL if not policies else NONE
    for hit in hits:
        total = total | hit.conns
    return Side(direction, endpoint, other, bool(policies), policies, hits, total)


def _part(engine: Engine, src: Endpoint, dst: Endpoint) -> Part:
    egress = evaluate_side(engine, EGRESS, src, dst) if not src.is_external else None
    ingress = evaluate_side(engine, INGRESS, dst, src) if not dst.is_external else None
    conns = ALL
    for side in (egress, ingress):
        if side is not None:
            conns = conns & side.conns
    return Part(src, dst, egress, ingress, conns)


def _split(engine: Engine, ip: IPRange, direction: str) -> list[IPRange]:
    """The query range cut at the ipBlock boundaries of rules of ``direction``."""
    segments = Segments.build(
        [rule.ip for rule in engine.rules if rule.spec.direction == direction and rule.ip] + [[ip]]
    )
    return [s for s in segments.ranges if s[0] == ip[0] and ip[1] <= s[1] and s[2] <= ip[2]]


def workload_endpoint(engine: Engine, workload: Workload) -> Endpoint:
    return Endpoint(workload, None, engine.model.namespaces.get(workload.namespace, {}))


def reach(
    engine: Engine, src: Workload | IPRange, dst: Workload | IPRange,
    protocol: str | None = None, port: int | None = None,
) -> Answer:
    """May ``src`` connect to ``dst`` (on ``protocol``/``port`` when given), and why."""
    if isinstance(src, tuple) and isinstance(dst, tuple):
        raise ValueError("one side must be a workload: NetworkPolicy says nothing about external-to-external traffic")
    parts: list[Part] = []
    note = None
    if isinstance(dst, tuple):
        assert isinstance(src, Workload)
        source = workload_endpoint(engine, src)
        pieces = _split(engine, dst, EGRESS)
        parts = [_part(engine, source, Endpoint(None, piece)) for piece in pieces]
    elif isinstance(src, tuple):
        target = workload_endpoint(engine, dst)
        pieces = _split(engine, src, INGRESS)
        parts = [_part(engine, Endpoint(None, piece), target) for piece in pieces]
    else:
        parts = [_part(engine, workload_endpoint(engine, src), workload_endpoint(engine, dst))]
        if src is dst:
            note = (
                "note: this is traffic between two pods of the same workload; "
                "a pod may always connect to itself"
            )
    if len(parts) > 1:
        # neighbouring pieces with the same verdict and the same reasons read as one range
        groups: list[list[Part]] = []
        for part in parts:
            if groups and groups[-1][-1].conns == part.conns and _same_reasons(groups[-1][-1], part):
                groups[-1].append(part)
            else:
                groups.append([part])
        parts = []
        for group in groups:
            first, last = group[0], group[-1]
            if first.dst.ip is not None and last.dst.ip is not None:
                ip = (first.dst.ip[0], first.dst.ip[1], last.dst.ip[2])
                parts.append(_part(engine, first.src, Endpoint(None, ip)))
            else:
                assert first.src.ip is not None and last.src.ip is not None
                ip = (first.src.ip[0], first.src.ip[1], last.src.ip[2])
                parts.append(_part(engine, Endpoint(None, ip), first.dst))
    return Answer(parts, protocol.upper() if protocol else (None if port is None else "TCP"), port, note)


def _same_reasons(a: Part, b: Part) -> bool:
    def key(side: Side | None):
        if side is None:
            return None
        return tuple((id(h.policy), h.rule.index, h.rule.direction, h.conns) for h in side.hits)

    return key(a.egress) == key(b.egress) and key(a.ingress) == key(b.ingress)
