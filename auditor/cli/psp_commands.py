"""``psp migrate``: PodSecurityPolicies mapped to the Pod Security Standards, with the
namespace labels that replace them.

Reads manifests (files, directories, ``-``) or ``--workshop``; the RBAC objects of the same
input tell which namespaces use each policy. Exit 0, or 2 on bad input.
"""

from __future__ import annotations

import click

from ..analysis.psp import plan_migration
from ..analysis.psp.render import migration_json, migration_text
from ..analysis.rbac import RBACModel, load_builtin
from ..inventory import LoadOptions
from ..pipeline import ScanOptions, load_inventory
from ..resources import workshop_dir
from . import display_path, main, parse_size
from .scan_commands import _kube_version


@main.group()
def psp() -> None:
    """Legacy PodSecurityPolicies (removed in Kubernetes 1.25) and their replacement."""


@psp.command()
@click.argument("paths", nargs=-1)
@click.option("--workshop", is_flag=True, help="Read the bundled workshop scenario.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--kube-version", default=None, metavar="1.N", help="The target cluster's Kubernetes version (pins enforce-version).")
@click.option("--default-namespace", default="default", show_default=True, help="Namespace for namespaced objects that name none.")
@click.option("--max-file-size", default="50MB", show_default=True, help="Refuse input files larger than this.")
@click.option("--no-builtin-rbac", is_flag=True, help="Do not merge Kubernetes' built-in RBAC roles and bindings.")
def migrate(
    paths: tuple[str, ...],
    workshop: bool,
    fmt: str,
    kube_version: str | None,
    default_namespace: str,
    max_file_size: str,
    no_builtin_rbac: bool,
) -> None:
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
    """
    version = _kube_version(kube_version)
    inputs = list(paths)
    if workshop:
        inputs.append(display_path(workshop_dir()))
    if not inputs:
        raise click.UsageError("give manifest PATH..., - for stdin, or --workshop")
    options = ScanOptions(
        default_namespace=default_namespace,
        load=LoadOptions(max_file_bytes=parse_size(max_file_size)),
    )
    inventory, notices, _ = load_inventory(inputs, options)
    for notice in notices:
        click.echo(f"kube-auditor: warning: {notice}", err=True)
    model = RBACModel.build(inventory, load_builtin(enabled=not no_builtin_rbac))
    plan = plan_migration(inventory, model, version)
    click.echo(migration_json(plan) if fmt == "json" else migration_text(plan), nl=False)
