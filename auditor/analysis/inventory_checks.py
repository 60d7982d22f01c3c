"""Analyzers about the inventory itself (objects declared twice)."""

from __future__ import annotations

from collections.abc import Iterator

from .registry import AnalysisContext, Hit, NoParams, analyzer


@analyzer("inventory.duplicates")
def duplicate_objects(context: AnalysisContext, params: NoParams) -> Iterator[Hit]:
    """Objects declared more than once (same group, kind, namespace and name)."""
    for duplicate in context.inventory.duplicates:
        first = duplicate.first
        yield Hit(
            resource=duplicate.again,
            message=(
                f"{duplicate.again.display} is declared again (first at {first.source}); "
                "applied together, the later manifest silently replaces the earlier one"
            ),
            key=f"{duplicate.again.source.file}",
        )
