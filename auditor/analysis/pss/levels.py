"""Pod Security levels and policy versions, parsed the way PSA namespace labels are.

A policy version pins the *rules*, not the cluster: ``v1.22`` means "the checks as they
stood in Kubernetes 1.22", whatever cluster evaluates them. ``latest`` always means the
newest rules this module knows (``NEWEST_MINOR``), and so does any version above it:
PSA clamps a future version to its newest registered one rather than rejecting it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

#: Newest policy minor version whose rules are implemented here (v1.37).
NEWEST_MINOR = 37

_VERSION_PATTERN = re.compile(r"v?1\.(0|[1-9][0-9]*)")


class Level(str, Enum):
    """The three Pod Security Standards levels, from most to least permissive."""

    PRIVILEGED = "privileged"
    BASELINE = "baseline"
    RESTRICTED = "restricted"

    def __str__(self) -> str:  # f"{level}" gives the label value, e.g. "restricted"
        return self.value


@dataclass(frozen=True)
class PolicyVersion:
    """A requested policy version: ``minor`` is ``None`` for ``latest``.

    ``label`` is what PSA prints (``latest`` or ``v1.N``, as requested); ``effective_minor``
    is the rule set actually applied, clamped to ``NEWEST_MINOR``.
    """

    minor: int | None

    @property
    def is_latest(self) -> bool:
        return self.minor is None

    @property
    def label(self) -> str:
        return "latest" if self.minor is None else f"v1.{self.minor}"

    @property
    def effective_minor(self) -> int:
        if self.minor is None or self.minor > NEWEST_MINOR:
            return NEWEST_MINOR
        return self.minor

    def __str__(self) -> str:
        return self.label


LATEST = PolicyVersion(None)


def parse_level(level: Level | str) -> Level:
    """Return the ``Level`` for ``privileged``, ``baseline`` or ``restricted``; else ValueError."""
    if isinstance(level, Level):
        return level
    try:
        return Level(level.strip() if isinstance(level, str) else level)
    except ValueError:
        raise ValueError(
            f"invalid Pod Security level {level!r}: must be one of privileged, baseline, restricted"
        ) from None


def parse_version(version: PolicyVersion | str | None) -> PolicyVersion:
    """Parse ``latest``, ``v1.N`` or ``1.N`` (no leading zeros, like PSA); else ValueError.

    ``None`` means latest, so callers can pass an absent label straight through.
    """
    if isinstance(version, PolicyVersion):
        return version
    if version is None:
        return LATEST
    if not isinstance(version, str):
        # Documented contract: any malformed version is a ValueError, whatever its type.
        raise ValueError(f'invalid policy version {version!r}: must be "latest" or "v1.N"')  # noqa: TRY004
    text = version.strip()
    if text == "latest":
        return LATEST
    match = _VERSION_PATTERN.fullmatch(text)
    if match is None:
        raise ValueError(f'invalid policy version {version!r}: must be "latest" or "v1.N"')
    return PolicyVersion(int(match.group(1)))
