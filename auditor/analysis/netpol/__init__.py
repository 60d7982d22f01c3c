"""NetworkPolicy analysis: exact reachability, coverage, front-door exposure and risk rules.

``build_model(inventory)`` parses the relevant objects; ``Engine(model)`` answers who may
connect to whom on which ports; :mod:`.connlist` lists it, :mod:`.explain` answers one
question with the policies and rules behind the answer, :mod:`.exposure` tells which
workloads no policy protects, and :mod:`.analyzers` turns all of it into rule findings.
"""

from __future__ import annotations

from ...inventory import Inventory
from ...runtime import gc_paused
from .conns import ALL, NONE, ConnSet
from .engine import Engine
from .model import NetpolModel, Workload, build_model


def analyze(inventory: Inventory) -> Engine:
    """The reachability engine for an inventory (model parsed, policies compiled)."""
    with gc_paused():
        return Engine(build_model(inventory))


__all__ = [
    "ALL", "NONE", "ConnSet", "Engine", "NetpolModel", "Workload", "analyze", "build_model",
    "gc_paused",
]
