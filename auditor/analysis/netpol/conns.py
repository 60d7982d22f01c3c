"""Connection sets: which protocols and ports a connection may use, exactly.

A :class:`ConnSet` holds, for each NetworkPolicy protocol (SCTP, TCP, UDP), a sorted tuple of
disjoint, non-adjacent inclusive port intervals within 1-65535. Values are immutable and
hashable, so they can be memoised and compared; every operation returns a canonical value,
so two sets allow the same traffic exactly when they are equal.
"""

from __future__ import annotations

from collections.abc import Iterable

#: The protocols a NetworkPolicy can name, in the order connection strings list them.
PROTOCOLS: tuple[str, ...] = ("SCTP", "TCP", "UDP")
MIN_PORT, MAX_PORT = 1, 65535
_INDEX = {name: i for i, name in enumerate(PROTOCOLS)}
_FULL: tuple[tuple[int, int], ...] = ((MIN_PORT, MAX_PORT),)

Intervals = tuple[tuple[int, int], ...]


def _normalize(intervals: Iterable[tuple[int, int]]) -> Intervals:
    """Sort, clip to 1-65535 and merge overlapping or adjacent intervals."""
    clipped = sorted(
        (max(lo, MIN_PORT), min(hi, MAX_PORT))
        for lo, hi in intervals
        if lo <= hi and hi >= MIN_PORT and lo <= MAX_PORT
    )
    merged: list[tuple[int, int]] = []
    for lo, hi in clipped:
        if merged and lo <= merged[-1][1] + 1:
            if hi > merged[-1][1]:
                merged[-1] = (merged[-1][0], hi)
        else:
            merged.append((lo, hi))
    return tuple(merged)


def _union(a: Intervals, b: Intervals) -> Intervals:
    if not a:
        return b
    if not b or a == b:
        return a
    return _normalize(a + b)


def _intersect(a: Intervals, b: Intervals) -> Intervals:
    if not a or not b:
        return ()
    if a == b or b == _FULL:
        return a
    if a == _FULL:
        return b
    out: list[tuple[int, int]] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo = max(a[i][0], b[j][0])
        hi = min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def _subtract(a: Intervals, b: Intervals) -> Intervals:
    if not a or not b:
        return a
    out: list[tuple[int, int]] = []
    for lo, hi in a:
        start = lo
        for blo, bhi in b:
            if bhi < start or blo > hi:
                continue
            if blo > start:
                out.append((start, blo - 1))
            start = max(start, bhi + 1)
            if start > hi:
                break
        if start <= hi:
            out.append((start, hi))
    return tuple(out)


def _contains(a: Intervals, b: Intervals) -> bool:
    return _subtract(b, a) == ()


def _format_intervals(intervals: Intervals) -> str:
    return ",".join(f"{lo}" if lo == hi else f"{lo}-{hi}" for lo, hi in intervals)


class ConnSet:
    """An exact set of (protocol, port) pairs. Use :data:`ALL`, :data:`NONE` or the builders."""

    __slots__ = ("_hash", "_text", "by_protocol")

    def __init__(self, by_protocol: tuple[Intervals, Intervals, Intervals]) -> None:
        self.by_protocol = by_protocol
        self._hash = hash(by_protocol)
        self._text: str | None = None

    # -- builders ---------------------------------------------------------------------
    @staticmethod
    def of(protocol: str, intervals: Iterable[tuple[int, int]] | None = None) -> ConnSet:
        """Ports of one protocol (``None``: every port of it)."""
        index = _INDEX[protocol]
        values = _FULL if intervals is None else _normalize(intervals)
        parts: list[Intervals] = [(), (), ()]
        parts[index] = values
        return ConnSet._make(parts)

    @staticmethod
    def _make(parts: list[Intervals] | tuple[Intervals, ...]) -> ConnSet:
        key = (parts[0], parts[1], parts[2])
        cached = _INTERN.get(key)
        if cached is None:
            cached = ConnSet(key)
            if len(_INTERN) < 100_000:
                _INTERN[key] = cached
        return cached

    # -- algebra ----------------------------------------------------------------------
    def __or__(self, other: ConnSet) -> ConnSet:
        if self is other or other.is_empty or self.is_all:
            return self
        if self.is_empty or other.is_all:
            return other
        return ConnSet._make([_union(a, b) for a, b in zip(self.by_protocol, other.by_protocol, strict=True)])

    def __and__(self, other: ConnSet) -> ConnSet:
        if self is other or other.is_all or self.is_empty:
            return self
        if other.is_empty or self.is_all:
            return other
        return ConnSet._make(
            [_intersect(a, b) for a, b in zip(self.by_protocol, other.by_protocol, strict=True)]
        )

    def __sub__(self, other: ConnSet) -> ConnSet:
        if other.is_empty:
            return self
        return ConnSet._make(
            [_subtract(a, b) for a, b in zip(self.by_protocol, other.by_protocol, strict=True)]
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ConnSet) and self.by_protocol == other.by_protocol

    def __hash__(self) -> int:
        return self._hash

    def __le__(self, other: ConnSet) -> bool:
        """Subset: every connection of ``self`` is in ``other``."""
        return all(_contains(b, a) for a, b in zip(self.by_protocol, other.by_protocol, strict=True))

    @property
    def is_empty(self) -> bool:
        return not (self.by_protocol[0] or self.by_protocol[1] or self.by_protocol[2])

    @property
    def is_all(self) -> bool:
        return self.by_protocol[0] == _FULL and self.by_protocol[1] == _FULL and self.by_protocol[2] == _FULL

    def allows(self, protocol: str, port: int | None = None) -> bool:
        """Whether the set admits ``protocol`` on ``port`` (``None``: on some port)."""
        intervals = self.by_protocol[_INDEX[protocol.upper()]]
        if port is None:
            return bool(intervals)
        return any(lo <= port <= hi for lo, hi in intervals)

    def ports(self, protocol: str) -> Intervals:
        return self.by_protocol[_INDEX[protocol]]

    # -- rendering --------------------------------------------------------------------
    def __str__(self) -> str:
        """``All Connections``, ``No Connections`` or e.g. ``TCP 80,8080-8090,UDP 53``."""
        if self._text is None:
            if self.is_all:
                self._text = "All Connections"
            elif self.is_empty:
                self._text = "No Connections"
            else:
                self._text = ",".join(
                    f"{name} {_format_intervals(intervals)}"
                    for name, intervals in zip(PROTOCOLS, self.by_protocol, strict=True)
                    if intervals
                )
        return self._text

    def __repr__(self) -> str:
        return f"ConnSet({self})"

    def to_dict(self) -> dict[str, list[list[int]]]:
        """``{"TCP": [[80, 80]], ...}`` (only non-empty protocols), for JSON output."""
        return {
            name: [[lo, hi] for lo, hi in intervals]
            for name, intervals in zip(PROTOCOLS, self.by_protocol, strict=True)
            if intervals
        }


_INTERN: dict[tuple[Intervals, Intervals, Intervals], ConnSet] = {}

ALL = ConnSet._make([_FULL, _FULL, _FULL])
NONE = ConnSet._make([(), (), ()])


def union_all(sets: Iterable[ConnSet]) -> ConnSet:
    result = NONE
    for item in sets:
        result = result | item
        if result.is_all:
            break
    return result
