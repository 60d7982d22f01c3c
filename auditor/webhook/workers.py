"""A worker process for the expensive reviews (RBAC objects).

Judging a RoleBinding builds the RBAC model with Kubernetes' built-in roles: about a
hundred times the work of a Pod review. On the event loop it would hold up every review
queued behind it (and, with the GIL, a thread would too); in a process of its own it runs
beside them on another core. The worker builds its own rules from the same configuration
at startup; :func:`decide` is what the server submits.
"""

from __future__ import annotations

from .config import WebhookConfig
from .decide import Admission, Decision
from .review import AdmissionRequest

_admission: Admission | None = None


def initialize(config: WebhookConfig) -> None:
    global _admission
    _admission = Admission(config)


def ready() -> int:
    """Number of rules loaded (a round trip that proves the worker is up)."""
    assert _admission is not None
    return len(_admission.rules)


def decide(request: AdmissionRequest) -> Decision:
    assert _admission is not None
    return _admission.decide(request)
