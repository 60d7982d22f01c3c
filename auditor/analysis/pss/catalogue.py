"""The check registry rendered as Markdown, for docs/pod-security.md (and kept in sync
with it by a test), so the documented checks can never drift from the evaluated ones."""

from __future__ import annotations

from .registry import CHECKS


def checks_table_markdown() -> str:
    """One row per check: id, level, first version, later revisions, overrides, description."""
    rows = [
        "| Check | Level | Since | Later revisions | Overrides (restricted) | Forbids |",
        "|---|---|---|---|---|---|",
    ]
    for check in CHECKS:
        later = "; ".join(
            f"{revision.since_version}: {revision.change}" for revision in check.revisions[1:]
        )
        overrides = ", ".join(
            dict.fromkeys(
                f"`{overridden}`"
                for revision in check.revisions
                for overridden in revision.overrides
            )
        )
        rows.append(
            f"| `{check.id}` | {check.level.value} | {check.since_version} | {later or '-'} "
            f"| {overrides or '-'} | {check.description} |"
        )
    return "\n".join(rows) + "\n"
