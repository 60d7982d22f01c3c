"""Builders for the Pod Security rule, label and command tests (imported as a plain module).

Everything runs through the real pack (policies/pss.yaml), engine and CLI.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

from auditor.analysis.registry import AnalysisSettings
from auditor.cli import main
from auditor.engine.evaluate import Engine
from auditor.engine.findings import Finding
from auditor.engine.rules import load_pack
from auditor.inventory import Inventory

REPO = Path(__file__).resolve().parents[2]
PACK = load_pack(REPO / "policies" / "pss.yaml")
RULES = {rule.id: rule for rule in PACK.rules}
FIXTURES = Path(__file__).resolve().parent / "fixtures"
LABEL = "pod-security.kubernetes.io/"

#: rule id → upstream check id, as the pack must map them
CHECK_RULES = {
    "KA-PSS-001": "privileged",
    "KA-PSS-002": "hostNamespaces",
    "KA-PSS-003": "hostPathVolumes",
    "KA-PSS-004": "hostPorts",
    "KA-PSS-005": "capabilities_baseline",
    "KA-PSS-006": "appArmorProfile",
    "KA-PSS-007": "seLinuxOptions",
    "KA-PSS-008": "procMount",
    "KA-PSS-009": "seccompProfile_baseline",
    "KA-PSS-010": "sysctls",
    "KA-PSS-011": "windowsHostProcess",
    "KA-PSS-012": "hostProbesAndHostLifecycle",
    "KA-PSS-013": "allowPrivilegeEscalation",
    "KA-PSS-014": "capabilities_restricted",
    "KA-PSS-015": "procMount_restricted",
    "KA-PSS-016": "restrictedVolumes",
    "KA-PSS-017": "runAsNonRoot",
    "KA-PSS-018": "runAsUser",
    "KA-PSS-019": "seccompProfile_restricted",
}
RULE_OF_CHECK = {check: rule for rule, check in CHECK_RULES.items()}

HARDENED_SC = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
HARDENED_POD_SC = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}


def container(name: str = "app", hardened: bool = True, **fields: Any) -> dict:
    """A container; hardened ones pass restricted (with a hardened pod securityContext)."""
    data: dict[str, Any] = {"name": name, "image": f"registry.example/{name}:1.0"}
    if hardened:
        data["securityContext"] = copy.deepcopy(HARDENED_SC)
    for key, value in fields.items():
        if key == "securityContext" and "securityContext" in data:
            data["securityContext"].update(value)
        else:
            data[key] = value
    return data


def pod_spec(*containers: dict, hardened: bool = True, **spec: Any) -> dict:
    data: dict[str, Any] = {}
    if hardened:
        data["securityContext"] = copy.deepcopy(HARDENED_POD_SC)
    data["containers"] = list(containers) or [container(hardened=hardened)]
    for key, value in spec.items():
        if key == "securityContext" and "securityContext" in data:
            data["securityContext"].update(value)
        else:
            data[key] = value
    return data


def _meta(name: str, namespace: str | None, **extra: Any) -> dict:
    metadata: dict[str, Any] = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    metadata.update({k: v for k, v in extra.items() if v})
    return metadata


def pod(spec: dict, name: str = "web", namespace: str | None = "shop", annotations: dict | None = None) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": _meta(name, namespace, annotations=annotations), "spec": spec}


def _template(spec: dict, name: str, annotations: dict | None) -> dict:
    metadata: dict[str, Any] = {"labels": {"app": name}}
    if annotations:
        metadata["annotations"] = annotations
    return {"metadata": metadata, "spec": spec}


def deployment(spec: dict, name: str = "web", namespace: str | None = "shop",
               annotations: dict | None = None, kind: str = "Deployment", api_version: str = "apps/v1") -> dict:
    return {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": _meta(name, namespace),
        "spec": {"selector": {"matchLabels": {"app": name}}, "template": _template(spec, name, annotations)},
    }


def cronjob(spec: dict, name: str = "nightly", namespace: str | None = "shop", annotations: dict | None = None) -> dict:
    spec = {**spec, "restartPolicy": "OnFailure"}
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": _meta(name, namespace),
        "spec": {"schedule": "0 2 * * *", "jobTemplate": {"spec": {"template": _template(spec, name, annotations)}}},
    }


def namespace(name: str, **labels: str) -> dict:
    """A Namespace; keyword labels name PSA modes: ``enforce="baseline", enforce_version="v1.30"``."""
    metadata: dict[str, Any] = {"name": name}
    if labels:
        metadata["labels"] = {LABEL + key.replace("_", "-"): value for key, value in labels.items()}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}


def scan(objects: list[dict] | dict, level: str = "restricted", version: str = "latest",
         rules: list[str] | None = None) -> list[Finding]:
    """Findings of the pss pack (or of ``rules`` only) on ``objects``."""
    objects = [objects] if isinstance(objects, dict) else objects
    inventory = Inventory.from_dicts([copy.deepcopy(o) for o in objects])
    chosen = [RULES[r] for r in rules] if rules else list(RULES.values())
    return Engine(chosen).evaluate(inventory, AnalysisSettings(pss_level=level, pss_version=version))


def check_rules(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.rule in CHECK_RULES]


def rows(findings: list[Finding]) -> set[tuple[str, str, str | None]]:
    """(rule, object name, container) of each finding."""
    return {(f.rule, f.resource.name, f.container) for f in findings}


def write(path: Path, *objects: dict) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump_all(objects, sort_keys=False), encoding="utf-8")
    return str(path)


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def run_json(*args: str) -> tuple[int, Any]:
    result = run(*args, "--format", "json")
    return result.exit_code, json.loads(result.stdout)
