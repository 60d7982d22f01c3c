"""``diff``: what a change does to security, between two paths or two git revisions.

Exit codes follow the CI contract, applied to what the change *introduces*: 0 nothing
introduced at or above ``--fail-on``; 1 something is; 2 usage or input error (a path that
does not exist, an unknown revision, a chart that does not render).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..diff import DiffOptions, diff_git, diff_paths
from ..diff.report import FORMATS, render, summary
from . import (
    EXIT_FINDINGS,
    EXIT_OK,
    FAIL_ON_CHOICES,
    main,
    policy_option,
    severity_or_none,
)
from .render_options import helm_options, no_remote_option, render_settings
from .scan_settings import load_config_file, scan_options


@main.command("diff")
@click.argument("args", nargs=-1, metavar="BASE HEAD | --git REV_A REV_B [PATH]")
@click.option("--git", "revisions", nargs=2, metavar="REV_A REV_B", default=None, help="Compare PATH (default: .) at two git revisions of its repository.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the report to FILE.")
@click.option(
    "--fail-on",
    type=click.Choice(FAIL_ON_CHOICES),
    default=None,
    help="Exit 1 when the change introduces something at or above this severity (default: high, or the config's failOn).",
)
@policy_option
@click.option("--no-builtin-policies", is_flag=True, help="Use only the packs given with --policy.")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="Configuration file (YAML), applied to both sides.")
@click.option("--default-namespace", default="default", show_default=True, help="Namespace for namespaced objects that name none.")
@click.option("--max-file-size", default="50MB", show_default=True, help="Refuse input files larger than this.")
@click.option("--no-builtin-rbac", is_flag=True, help="Do not merge Kubernetes' built-in RBAC roles and bindings.")
@click.option("--kustomize", is_flag=True, help="BASE and HEAD (or PATH) are kustomization directories: build them with kustomize.")
@helm_options
@no_remote_option
def diff(
    args: tuple[str, ...],
    revisions: tuple[str, str] | None,
    fmt: str,
    output: str | None,
    fail_on: str | None,
    policy_dirs: tuple[Path, ...],
    no_builtin_policies: bool,
    config_path: Path | None,
    default_namespace: str,
    max_file_size: str,
    no_builtin_rbac: bool,
    kustomize: bool,
    values_files: tuple[str, ...],
    set_values: tuple[str, ...],
    release: str | None,
    release_namespace: str | None,
    no_remote: bool,
) -> None:
    """Show what a change does to security: new and fixed findings, NetworkPolicy
    reachability opened and closed, RBAC permissions gained and lost and new escalation
    paths, and Pod Security levels weakened, between BASE and HEAD.

    A chart directory (with Chart.yaml) is rendered with helm on both sides.
    --fail-on judges only what the change introduces, so existing debt does not block it.

    \b
    Examples:
      kube-auditor diff old/ new/
      kube-auditor diff --git origin/main HEAD manifests/
      kube-auditor diff --git main HEAD charts/shop --values charts/shop/prod.yaml
      kube-auditor diff --git main HEAD --kustomize overlays/prod --format markdown
    """
    if revisions is None and len(args) != 2:
        raise click.UsageError("give BASE and HEAD paths, or --git REV_A REV_B [PATH]")
    if revisions is not None and len(args) > 1:
        raise click.UsageError("--git REV_A REV_B takes at most one PATH inside the repository")
    config = load_config_file(config_path)
    gate = severity_or_none(fail_on or config.fail_on or "high")
    namespace = release_namespace or default_namespace
    rules = scan_options(
        policy_dirs=policy_dirs,
        no_builtin_policies=no_builtin_policies,
        config=config,
        default_namespace=namespace,
        max_file_size=max_file_size,
        builtin_rbac=not no_builtin_rbac,
    )
    options = DiffOptions(
        scan=rules,
        render=render_settings(values_files, set_values, release, namespace, not no_remote),
        kustomize=kustomize,
        builtin_rbac=not no_builtin_rbac,
    )
    if revisions is not None:
        result = diff_git(revisions[0], revisions[1], args[0] if args else ".", options)
    else:
        result = diff_paths(args[0], args[1], options)
    text = render(result, fmt, gate)
    if output:
        Path(output).write_text(text, encoding="utf-8")
        counts = summary(result, gate)
        click.echo(
            f"kube-auditor: diff {result.base} -> {result.head}: {counts['failing']} introduced "
            f"at or above {counts['failOn']}; report written to {output}",
            err=True,
        )
    else:
        click.echo(text, nl=False)
    sys.exit(EXIT_FINDINGS if result.failing(gate) else EXIT_OK)
