"""Small builders for engine tests: rules from dicts, pods from containers, packs on disk.

Everything goes through the real engine (pydantic validation, compilation, evaluation);
nothing here stands in for it.
"""

from __future__ import annotations

import copy
import textwrap
from pathlib import Path
from typing import Any

import yaml

from auditor.engine.conditions import Target, compile_condition
from auditor.engine.evaluate import Engine
from auditor.engine.findings import Finding
from auditor.engine.rules import Rule
from auditor.inventory import Inventory

RULE_DEFAULTS: dict[str, Any] = {
    "id": "KA-TEST-001",
    "title": "Test rule",
    "severity": "medium",
    "stride": ["Tampering"],
    "layer": "container",
    "risk": "A risk.",
    "remediation": "A fix.",
}


def rule_dict(**fields: Any) -> dict[str, Any]:
    """A rule mapping with every required field filled; ``fields`` override or add."""
    data = dict(RULE_DEFAULTS)
    data.update(fields)
    return data


def make_rule(**fields: Any) -> Rule:
    return Rule.model_validate(rule_dict(**fields))


def evaluate(rules: list[Rule] | Rule, objects: list[dict], namespace: str = "default") -> list[Finding]:
    rules = [rules] if isinstance(rules, Rule) else rules
    inventory = Inventory.from_dicts([copy.deepcopy(o) for o in objects], namespace)
    return Engine(rules).evaluate(inventory)


def fires(objects: list[dict] | dict, **rule_fields: Any) -> list[Finding]:
    """Findings of one rule (built from ``rule_fields``) on ``objects``."""
    objects = [objects] if isinstance(objects, dict) else objects
    return evaluate(make_rule(**rule_fields), objects)


def holds_on_object(check: dict, obj: Any) -> bool:
    """Whether a condition holds with ``obj`` as the object target (no rule around it)."""
    rule = make_rule(check=check)
    return compile_condition(rule.check, "object")(Target(obj))


def container(name: str = "app", image: str = "registry.example/app:1.0", **fields: Any) -> dict:
    return {"name": name, "image": image, **fields}


def pod(
    *containers: dict,
    name: str = "web",
    namespace: str | None = None,
    labels: dict | None = None,
    annotations: dict | None = None,
    **spec: Any,
) -> dict:
    metadata: dict[str, Any] = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    if labels:
        metadata["labels"] = labels
    if annotations:
        metadata["annotations"] = annotations
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": {"containers": list(containers) or [container()], **spec},
    }


def deployment(*containers: dict, name: str = "web", namespace: str | None = None, **spec: Any) -> dict:
    metadata: dict[str, Any] = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata,
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": list(containers) or [container()], **spec},
            },
        },
    }


def pack_text(rules: list[dict] | str, name: str = "test") -> str:
    """A rule pack document; ``rules`` as dicts, or as YAML text for the list (indented)."""
    header = f"apiVersion: kube-auditor.io/v1\nkind: RulePack\nmetadata:\n  name: {name}\n"
    if isinstance(rules, str):
        return header + "rules:\n" + textwrap.indent(textwrap.dedent(rules).strip("\n"), "  ") + "\n"
    return header + yaml.safe_dump({"rules": rules}, sort_keys=False)


def write_pack(directory: Path, rules: list[dict] | str, file: str = "test.yaml", name: str = "test") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / file
    path.write_text(pack_text(rules, name), encoding="utf-8")
    return path


def write_manifests(path: Path, *objects: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump_all(objects, sort_keys=False), encoding="utf-8")
    return path
