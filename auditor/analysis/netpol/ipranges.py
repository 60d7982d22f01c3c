"""IP address ranges for ipBlock peers: CIDRs minus excepts, and the external segments.

Addresses are integers; a range is ``(version, first, last)`` with both ends included. An
ipBlock is the set of ranges left of its CIDR after removing every ``except`` CIDR. The
external world is cut into *segments*: maximal runs of addresses that no ipBlock boundary
crosses, so that every ipBlock is exactly a union of whole segments.
"""

from __future__ import annotations

import bisect
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

IPRange = tuple[int, int, int]  #: (4 or 6, first, last)

MAX_ADDRESS = {4: (1 << 32) - 1, 6: (1 << 128) - 1}


class CIDRError(ValueError):
    """Text that is not an IPv4/IPv6 CIDR (or address)."""


def parse_cidr(text: object) -> IPRange:
    """``10.0.0.0/8`` → ``(4, first, last)``. Host bits are ignored, as the API server's
    CIDR parsing masks them; a bare address is a /32 (or /128)."""
    if not isinstance(text, str) or not text.strip():
        raise CIDRError(f"{text!r} is not a CIDR")
    try:
        network = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError as error:
        raise CIDRError(f"{text!r} is not a CIDR ({error})") from None
    return (network.version, int(network.network_address), int(network.broadcast_address))


def subtract(ranges: list[IPRange], cut: IPRange) -> list[IPRange]:
    out: list[IPRange] = []
    version, clo, chi = cut
    for v, lo, hi in ranges:
        if v != version or chi < lo or clo > hi:
            out.append((v, lo, hi))
            continue
        if lo < clo:
            out.append((v, lo, clo - 1))
        if chi < hi:
            out.append((v, chi + 1, hi))
    return out


def ipblock_ranges(cidr: IPRange, excepts: Iterable[IPRange]) -> tuple[IPRange, ...]:
    """The ranges of ``cidr`` that no ``except`` removes, sorted."""
    ranges = [cidr]
    for cut in excepts:
        ranges = subtract(ranges, cut)
    return tuple(sorted(ranges))


def format_address(version: int, value: int) -> str:
    return str(ipaddress.IPv4Address(value) if version == 4 else ipaddress.IPv6Address(value))


@lru_cache(maxsize=65536)
def format_range(item: IPRange) -> str:
    """``10.0.0.0-10.255.255.255`` (always a dash range, as the connlist format writes it)."""
    version, lo, hi = item
    return f"{format_address(version, lo)}-{format_address(version, hi)}"


def parse_address_or_cidr(text: str) -> IPRange:
    """An address (``10.1.2.3``) or a CIDR, for queries."""
    return parse_cidr(text)


def range_to_cidrs(item: IPRange) -> list[str]:
    """The fewest CIDRs that cover exactly ``item`` (for human output)."""
    version, lo, hi = item
    cls = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    return [str(n) for n in ipaddress.summarize_address_range(cls(lo), cls(hi))]


@dataclass(frozen=True)
class Segments:
    """The external address space cut at every ipBlock boundary.

    ``ranges`` lists every segment in order (IPv4 first). IPv6 is included only when some
    ipBlock uses IPv6, so a v4-only configuration shows only v4 segments.
    """

    ranges: tuple[IPRange, ...]

    @staticmethod
    def build(blocks: Iterable[Iterable[IPRange]]) -> Segments:
        cuts: dict[int, set[int]] = {4: {0}}
        for block in blocks:
            for version, lo, hi in block:
                points = cuts.setdefault(version, {0})
                points.add(lo)
                if hi < MAX_ADDRESS[version]:
                    points.add(hi + 1)
        ranges: list[IPRange] = []
        for version in sorted(cuts):
            points = sorted(cuts[version])
            for index, start in enumerate(points):
                end = points[index + 1] - 1 if index + 1 < len(points) else MAX_ADDRESS[version]
                ranges.append((version, start, end))
        return Segments(tuple(ranges))

    def indices_within(self, block: Iterable[IPRange]) -> list[int]:
        """Indices of the segments inside ``block`` (whose boundaries are all cuts)."""
        out: list[int] = []
        for item in block:
            start = bisect.bisect_left(self.ranges, (item[0], item[1], -1))
            index = start
            while index < len(self.ranges):
                segment = self.ranges[index]
                if segment[0] != item[0] or segment[1] > item[2]:
                    break
                if segment[2] <= item[2]:
                    out.append(index)
                index += 1
        return out

    def __len__(self) -> int:
        return len(self.ranges)


def contains(block: Iterable[IPRange], item: IPRange) -> bool:
    """Whether every address of ``item`` is inside ``block``."""
    version, lo, hi = item
    remaining = [(version, lo, hi)]
    for piece in block:
        remaining = subtract(remaining, piece)
        if not remaining:
            return True
    return not remaining


def overlaps(block: Iterable[IPRange], item: IPRange) -> bool:
    version, lo, hi = item
    return any(v == version and not (last < lo or first > hi) for v, first, last in block)
