"""``pss`` and ``pss recommend``: Pod Security Admission's verdict on each pod spec, offline.

``kube-auditor pss PATH...`` (short for ``pss check PATH...``) says, for every Pod and
workload template, whether PSA would admit it at a level and policy version, or at the
enforce policy of its namespace's labels; ``pss recommend`` says which level each namespace
could enforce today.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from ..analysis.pss import PSSResult, evaluate_pod, parse_version
from ..analysis.pss_rules import (
    LABEL_PREFIX,
    NamespacePolicy,
    Recommendation,
    namespace_policies,
    parse_namespace_labels,
    recommend,
)
from ..inventory import Inventory, PodTemplate
from . import EXIT_FINDINGS, EXIT_OK, fail, main
from .inputs import Inputs, input_options


class _DefaultCheckGroup(click.Group):
    """``pss PATH...`` means ``pss check PATH...``; ``pss recommend ...`` is a subcommand.

    (A file literally named ``check`` or ``recommend`` is given as ``./recommend``.)
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("-h", "--help")):
            args = ["check", *args]
        return super().parse_args(ctx, args)


def _read(inputs: Inputs) -> Inventory:
    loaded = inputs.read()
    loaded.echo_notices()
    return loaded.inventory


def _version_label(version: str | None) -> str:
    try:
        return parse_version(version or "latest").label
    except ValueError as error:
        fail(f"--version: {error}")


def _object(template: PodTemplate) -> dict[str, Any]:
    return template.resource.ref()


def _source(template: PodTemplate) -> dict[str, Any]:
    source = template.resource.source
    return {"file": source.file, "line": source.line}


def _violations(result: PSSResult) -> list[dict[str, Any]]:
    return [
        {"check": v.check, "message": v.message, "containers": list(v.containers)}
        for v in result.violations
    ]


def _where(template: PodTemplate) -> str:
    return f"{template.resource.display} ({template.resource.source})"


def _echo_json(document: dict[str, Any]) -> None:
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))


@main.group("pss", cls=_DefaultCheckGroup)
def pss() -> None:
    """Pod Security Admission's verdict on each Pod and workload template, offline.

    \b
    kube-auditor pss PATH...            is short for  kube-auditor pss check PATH...
    kube-auditor pss recommend PATH...  the strictest level each namespace passes

    \b
    Examples:
      kube-auditor pss k8s/ --level baseline --version v1.30
      kube-auditor pss k8s/ --namespace-labels --format json
      kube-auditor pss recommend k8s/ --version v1.30
      kube-auditor pss recommend --cluster --context prod
    """


@pss.command("check")
@input_options()
@click.option(
    "--level", type=click.Choice(["baseline", "restricted"]), default=None,
    help="Pod Security level to judge at.  [default: restricted]",
)
@click.option(
    "--version", "version", metavar="v1.N|latest", default=None,
    help="Pod Security policy version to judge at.  [default: latest]",
)
@click.option(
    "--namespace-labels", is_flag=True,
    help="Judge each object at the enforce level and version of its namespace's labels instead.",
)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def check(
    inputs: Inputs,
    level: str | None,
    version: str | None,
    namespace_labels: bool,
    fmt: str,
) -> None:
    """Whether PSA admits each Pod and workload template, and why not.

    PATH... are manifest files, directories (recursively) or - (stdin); --cluster reads a
    live cluster (its Pods, their controllers and the namespaces' labels). Workload templates
    (Deployments, StatefulSets, DaemonSets, Jobs, CronJobs, custom workloads) are judged
    like Pods: PSA enforce admits the workload itself, then rejects each pod it creates.

    \b
    Exit codes: 0 every object is admitted; 1 at least one is denied; 2 bad input.
    """
    if namespace_labels and (level is not None or version is not None):
        raise click.UsageError("--namespace-labels takes the level and version from the labels: give no --level or --version")
    label = _version_label(version)
    level = level or "restricted"
    inventory = _read(inputs)
    policies: dict[str, NamespacePolicy] = namespace_policies(inventory) if namespace_labels else {}
    results: list[tuple[PodTemplate, PSSResult, NamespacePolicy | None]] = []
    for template in inventory.pod_templates:
        policy = None
        if namespace_labels:
            namespace = template.resource.namespace or ""
            policy = policies.get(namespace) or parse_namespace_labels(namespace, None, declared=False)
            level_used, version_used = policy.enforce.level.value, policy.enforce.version.label
        else:
            level_used, version_used = level, label
        result = evaluate_pod(template.metadata, template.spec, level_used, version_used)
        results.append((template, result, policy))
    denied = sum(1 for _, result, _ in results if not result.allowed)
    if fmt == "json":
        entries = []
        for template, result, _ in results:
            entry: dict[str, Any] = {
                "object": _object(template),
                "source": _source(template),
                "allowed": result.allowed,
                "violations": _violations(result),
            }
            if namespace_labels:
                entry["level"] = result.level.value
                entry["version"] = result.version
            entries.append(entry)
        _echo_json({
            "level": None if namespace_labels else level,
            "version": None if namespace_labels else label,
            "results": entries,
        })
    else:
        _check_table(results, None if namespace_labels else f"{level}:{label}", denied)
    sys.exit(EXIT_FINDINGS if denied else EXIT_OK)


def _enforced(policy: NamespacePolicy) -> str:
    """How a namespace's enforce policy came about, for the table."""
    if not policy.declared:
        why = "not declared here: PSA default"
    elif not policy.enforce.labelled:
        why = "no enforce label: PSA default"
    else:
        why = "enforce label"
    return f"  [namespace {policy.name or '-'}: {policy.enforce} ({why})]"


def _check_table(
    results: list[tuple[PodTemplate, PSSResult, NamespacePolicy | None]], policy: str | None, denied: int,
) -> None:
    lines = []
    for template, result, namespace in results:
        resource = template.resource
        at = _enforced(namespace) if namespace is not None else ""
        if result.allowed:
            lines.append(f"allowed  {_where(template)}{at}")
            continue
        lines.append(f"DENIED   {_where(template)}{at}")
        if resource.kind != "Pod":
            lines.append(f"         PSA enforce admits the {resource.kind} but rejects each pod it creates:")
        lines += [f"         - {violation.message}" for violation in result.violations]
    if not results:
        lines.append("no Pods or workload templates found")
    where = f'PodSecurity "{policy}"' if policy else "the enforce policy of their namespaces"
    lines += ["", f"{denied} of {len(results)} object(s) with a pod spec denied at {where}"]
    click.echo("\n".join(lines))


@pss.command("recommend")
@input_options()
@click.option(
    "--version", "version", metavar="v1.N|latest", default=None,
    help="Pod Security policy version to judge at.  [default: latest]",
)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def recommend_command(inputs: Inputs, version: str | None, fmt: str) -> None:
    """The strictest Pod Security level each namespace's workloads all pass.

    For every namespace (declared, or used by objects), the level to put in its
    pod-security.kubernetes.io/enforce label today, and the workloads that keep it from the
    next stricter level, with their violations. Exit code 0, or 2 on bad input.
    """
    label = _version_label(version)
    inventory = _read(inputs)
    recommendations = recommend(inventory, label)
    if fmt == "json":
        _echo_json({"version": label, "namespaces": [_recommendation_dict(r) for r in recommendations]})
    else:
        _recommend_table(recommendations, label)
    sys.exit(EXIT_OK)


def _current(policy: NamespacePolicy) -> dict[str, Any] | None:
    if not policy.declared:
        return None
    return {
        "level": policy.enforce.level.value,
        "version": policy.enforce.version.label,
        "labelled": policy.enforce.labelled,
    }


def _recommendation_dict(recommendation: Recommendation) -> dict[str, Any]:
    blocking = None
    if recommendation.next_level is not None:
        blocking = {
            "level": recommendation.next_level.value,
            "workloads": [
                {
                    "object": _object(blocker.template),
                    "source": _source(blocker.template),
                    "violations": _violations(blocker.result),
                }
                for blocker in recommendation.blockers
            ],
        }
    return {
        "namespace": recommendation.policy.name,
        "declared": recommendation.policy.declared,
        "enforce": _current(recommendation.policy),
        "workloads": recommendation.workloads,
        "recommended": recommendation.level.value,
        "labels": {
            LABEL_PREFIX + "enforce": recommendation.level.value,
            LABEL_PREFIX + "enforce-version": recommendation.version,
        },
        "blocking": blocking,
    }


def _recommend_table(recommendations: list[Recommendation], version: str) -> None:
    rows = [("NAMESPACE", "WORKLOADS", "ENFORCES NOW", "RECOMMENDED")]
    for r in recommendations:
        policy = r.policy
        if not policy.declared:
            now = "? (not declared)"
        elif policy.enforce.labelled:
            now = str(policy.enforce)
        else:
            now = "privileged (no label)"
        rows.append((policy.name, str(r.workloads), now, r.level.value))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [f"Pod Security levels each namespace's workloads pass at policy {version}", ""]
    lines += ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    for r in recommendations:
        if not r.blockers:
            continue
        assert r.next_level is not None
        lines += ["", f"{r.policy.name}: {r.next_level.value} is blocked by"]
        for blocker in r.blockers:
            lines.append(f"  {_where(blocker.template)}")
            lines += [f"    - {violation.message}" for violation in blocker.result.violations]
    if not recommendations:
        lines.append("no namespaces found")
    click.echo("\n".join(lines))
