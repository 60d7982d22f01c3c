"""``export vap``: the rules as ValidatingAdmissionPolicies (enforced by the API server)."""

from __future__ import annotations

from . import main


@main.group()
def export() -> None:
    """Export the rules in other enforcement formats."""
