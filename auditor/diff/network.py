"""NetworkPolicy reachability opened and closed: the difference of two ``netpol list``\\s.

Both sides are analysed by the NetworkPolicy engine exactly as ``netpol list`` does.
Workload-to-workload and ingress-controller connections are compared pair by pair (a
workload is ``ns/name[Kind]`` on both sides). External ranges are cut differently on
each side (at the ipBlock boundaries that side's policies use), so both sides are
evaluated again over the *union* of those cuts, segment by segment, and adjacent
segments with the same change are merged back into one range. Opened = ports allowed in
HEAD and not in BASE, per protocol; closed = the reverse.
"""

from __future__ import annotations

from ..analysis.netpol import NONE, ConnSet, analyze
from ..analysis.netpol.connlist import connections
from ..analysis.netpol.engine import Engine
from ..analysis.netpol.ipranges import IPRange, Segments, format_range
from ..analysis.netpol.model import EGRESS, INGRESS, Workload
from ..inventory import Inventory
from ..runtime import gc_paused
from .grading import connection_severity
from .model import ConnectionChange

Pair = tuple[str, str]


def _pair_conns(engine: Engine) -> dict[Pair, tuple[ConnSet, str, str]]:
    """(src, dst) → (allowed, src kind, dst kind) for workload and ingress-controller pairs."""
    out: dict[Pair, tuple[ConnSet, str, str]] = {}
    for connection in connections(engine, ingress_controller=True):
        if isinstance(connection.src, tuple) or isinstance(connection.dst, tuple):
            continue  # external ranges are compared over common segments below
        src_kind = "workload" if isinstance(connection.src, Workload) else "ingress-controller"
        out[(connection.src_name, connection.dst_name)] = (connection.conns, src_kind, "workload")
    return out


def _external_profiles(
    engine: Engine, segments: dict[str, Segments]
) -> dict[tuple[str, str], dict[int, ConnSet]]:
    """(workload, direction) → {segment index: allowed} over the common segments."""
    out: dict[tuple[str, str], dict[int, ConnSet]] = {}
    for direction in (EGRESS, INGRESS):
        memo: dict = {}
        for index, cls in enumerate(engine.classes):
            rules = engine.governing[direction][index]
            named = cls.named if direction == INGRESS else None
            key = (rules, named)
            profile = memo.get(key)
            if profile is None:
                profile = memo[key] = dict(engine.ip_profile(rules, segments[direction], named))
            for workload in cls.workloads:
                out[(workload.display, direction)] = profile
    return out


def _common_segments(base: Engine, head: Engine) -> dict[str, Segments]:
    return {
        direction: Segments.build(
            [rule.ip for engine in (base, head) for rule in engine.rules
             if rule.spec.direction == direction and rule.ip]
        )
        for direction in (INGRESS, EGRESS)
    }


def network_changes(
    base: Inventory, head: Inventory
) -> tuple[list[ConnectionChange], list[ConnectionChange]]:
    """(opened, closed) connections between BASE and HEAD, sorted as ``netpol list`` sorts."""
    empty = NONE
    with gc_paused():
        base_engine, head_engine = analyze(base), analyze(head)
        base_workloads = {w.display for w in base_engine.model.workloads}
        head_workloads = {w.display for w in head_engine.model.workloads}
        opened: list[ConnectionChange] = []
        closed: list[ConnectionChange] = []

        def is_new(name: str, kind: str, on_head: bool) -> bool:
            if kind != "workload":
                return False
            return name not in (base_workloads if on_head else head_workloads)

        base_pairs, head_pairs = _pair_conns(base_engine), _pair_conns(head_engine)
        for pair in sorted(set(base_pairs) | set(head_pairs)):
            before, src_kind, dst_kind = base_pairs.get(pair, (empty, "", ""))
            after, head_src_kind, head_dst_kind = head_pairs.get(pair, (empty, "", ""))
            src_kind = src_kind or head_src_kind
            dst_kind = dst_kind or head_dst_kind
            _record(pair, before, after, src_kind, dst_kind, is_new, opened, closed)

        segments = _common_segments(base_engine, head_engine)
        base_ext = _external_profiles(base_engine, segments)
        head_ext = _external_profiles(head_engine, segments)
        for workload, direction in sorted(set(base_ext) | set(head_ext)):
            before_map = base_ext.get((workload, direction), {})
            after_map = head_ext.get((workload, direction), {})
            ranges = segments[direction].ranges
            for item, before, after in _merged_segments(ranges, before_map, after_map, empty):
                external = f"{format_range(item)}[External]"
                if direction == EGRESS:
                    pair, kinds = (workload, external), ("workload", "external")
                else:
                    pair, kinds = (external, workload), ("external", "workload")
                _record(pair, before, after, kinds[0], kinds[1], is_new, opened, closed)
    key = lambda change: change.line.encode()  # noqa: E731 - netpol list's byte order
    return sorted(opened, key=key), sorted(closed, key=key)


def _merged_segments(
    ranges: tuple[IPRange, ...], before: dict[int, ConnSet], after: dict[int, ConnSet], empty: ConnSet
):
    """(range, before, after) for runs of adjacent segments with identical answers that differ."""
    run: list | None = None
    for index, item in enumerate(ranges):
        b, a = before.get(index, empty), after.get(index, empty)
        if a == b:
            if run is not None:
                yield tuple(run[0]), run[1], run[2]
                run = None
            continue
        if run is not None and run[1] == b and run[2] == a and run[0][0] == item[0] and run[0][2] + 1 == item[1]:
            run[0] = [item[0], run[0][1], item[2]]
            continue
        if run is not None:
            yield tuple(run[0]), run[1], run[2]
        run = [[item[0], item[1], item[2]], b, a]
    if run is not None:
        yield tuple(run[0]), run[1], run[2]


def _record(
    pair: Pair, before: ConnSet, after: ConnSet, src_kind: str, dst_kind: str, is_new,
    opened: list[ConnectionChange], closed: list[ConnectionChange],
) -> None:
    src, dst = pair
    gained, lost = after - before, before - after
    if not gained.is_empty:
        new_endpoint = is_new(src, src_kind, True) or is_new(dst, dst_kind, True)
        opened.append(
            ConnectionChange(
                src, dst, str(gained), str(before), str(after), src_kind, dst_kind, new_endpoint,
                connection_severity(src_kind, new_endpoint),
            )
        )
    if not lost.is_empty:
        gone = is_new(src, src_kind, False) or is_new(dst, dst_kind, False)
        closed.append(
            ConnectionChange(src, dst, str(lost), str(before), str(after), src_kind, dst_kind, gone)
        )

