"""A stand-in for a Pod Security rule pack, so the fixers keyed by PSA check are tested
through the whole pipeline: an analyzer that reports each PSA violation the way Pod
Security findings do (``details.check``, ``details.paths`` rooted at the object,
``details.containers``), and a pack with one rule per check (data/pss-stub.yaml)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from auditor.analysis.pss import evaluate_pod
from auditor.analysis.registry import AnalysisContext, Hit, analyzer, get_analyzer

PACK = Path(__file__).parent / "data" / "pss-stub.yaml"
NAME = "test.remediate.pss_check"


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    check: str
    level: str = "restricted"


def _register() -> None:
    if get_analyzer(NAME) is not None:
        return

    @analyzer(NAME, params=Params)
    def pss_check(context: AnalysisContext, params: Params):
        """PSA violations of one check, as Pod Security findings carry them."""
        for template in context.inventory.pod_templates:
            result = evaluate_pod(template.metadata, template.spec, params.level)
            prefix = "" if template.path == ("spec",) else ".".join(template.path[:-1]) + "."
            for violation in result.violations:
                if violation.check != params.check:
                    continue
                paths = [prefix + p if p.startswith("spec") else p for p in violation.paths]
                containers = list(violation.containers)
                yield Hit(
                    resource=template.resource,
                    message=violation.message,
                    container=containers[0] if len(containers) == 1 else None,
                    path=paths[0] if paths else template.path_str,
                    details={"check": violation.check, "paths": paths, "containers": containers},
                )


_register()
