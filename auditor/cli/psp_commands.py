"""``psp migrate``: PodSecurityPolicies mapped to the Pod Security Standards, with the
namespace labels that replace them.

Reads manifests (files, directories, ``-``), ``--workshop`` or ``--cluster`` (a cluster
older than 1.25 still serves PodSecurityPolicies); the RBAC objects of the same
input tell which namespaces use each policy. Exit 0, or 2 on bad input.
"""

from __future__ import annotations

import click

from ..analysis.psp import plan_migration
from ..analysis.psp.render import migration_json, migration_text
from ..analysis.rbac import RBACModel
from . import main
from .inputs import Inputs, input_options
from .scan_settings import checked_kube_version


@main.group()
def psp() -> None:
    """Legacy PodSecurityPolicies (removed in Kubernetes 1.25) and their replacement."""


@psp.command()
@input_options()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--kube-version", default=None, metavar="1.N", help="The target cluster's Kubernetes version (pins enforce-version).")
@click.option("--no-builtin-rbac", is_flag=True, help="Do not merge Kubernetes' built-in RBAC roles and bindings.")
def migrate(inputs: Inputs, fmt: str, kube_version: str | None, no_builtin_rbac: bool) -> None:
    """Map each PodSecurityPolicy to a Pod Security level and say which labels replace it.

    \b
    For each policy: the strictest Pod Security level whose rules it still enforces, the
    fields that keep it from a stricter one, who may use it and where, and what it set on
    pods (Pod Security admission never mutates). For each namespace where a policy is used:
    the pod-security.kubernetes.io labels to set, as a kubectl command.

    \b
    Examples:
      kube-auditor psp migrate k8s/
      kube-auditor psp migrate --kube-version 1.30 --format json k8s/
      kube-auditor psp migrate --cluster --context legacy
    """
    version = checked_kube_version(kube_version)
    loaded = inputs.read()
    loaded.echo_notices()
    model = RBACModel.build(loaded.inventory, loaded.builtin_rbac(enabled=not no_builtin_rbac))
    plan = plan_migration(loaded.inventory, model, version)
    click.echo(migration_json(plan) if fmt == "json" else migration_text(plan), nl=False)
