"""``threats``: the scan's findings as a threat model, by STRIDE category and 4C layer.

The findings come from the same pipeline as ``scan`` (same rules, config, waivers and
baseline), over manifests, the workshop or a live cluster (:mod:`.inputs`). The report is
information, not a gate: exit 0, or 2 on bad input (``scan`` is the CI gate).
"""

from __future__ import annotations

from pathlib import Path

import click

from ..pipeline import load_rules, scan_inventory
from ..report.threat_model import THREAT_FORMATS, build, render
from ..runtime import gc_paused
from . import main, use_color
from .inputs import Inputs, input_options
from .scan_settings import include_owned_option, load_config_file, rule_options, scan_options


@main.command()
@input_options()
@click.option("--format", "fmt", type=click.Choice(THREAT_FORMATS), default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the report to FILE.")
@click.option("--top", type=click.IntRange(1, 1000), default=5, show_default=True, help="Findings listed per group.")
@rule_options()
@click.option("--baseline", "baseline_path", type=click.Path(path_type=Path), help="Count findings of this baseline apart.")
@include_owned_option
@click.option("--no-color", is_flag=True, help="Never colour the table output.")
def threats(
    inputs: Inputs,
    fmt: str,
    output: str | None,
    top: int,
    policy_dirs: tuple[Path, ...],
    no_builtin_policies: bool,
    config_path: Path | None,
    no_builtin_rbac: bool,
    pss_level: str | None,
    pss_version: str | None,
    kube_version: str | None,
    baseline_path: Path | None,
    include_owned: bool,
    no_color: bool,
) -> None:
    """Show the threat model: findings by STRIDE category and by 4C layer.

    \b
    For each STRIDE category (what an attacker gains) and each 4C layer (cloud, cluster,
    container, code: where the defence lives): what it means for a cluster, the counts by
    severity and the most severe findings; then a STRIDE x layer grid of defence in depth.

    \b
    Examples:
      kube-auditor threats --workshop
      kube-auditor threats --format markdown -o threat-model.md k8s/
      kube-auditor threats --cluster --context prod
    """
    options = scan_options(
        policy_dirs=policy_dirs,
        no_builtin_policies=no_builtin_policies,
        config=load_config_file(config_path),
        baseline_path=baseline_path,
        default_namespace=inputs.namespace,
        max_file_size=inputs.max_file_size,
        pss_level=pss_level,
        pss_version=pss_version,
        kube_version=kube_version,
        builtin_rbac=not no_builtin_rbac,
        include_owned=include_owned,
    )
    with gc_paused():  # the scan allocates much and frees little
        loaded = inputs.read()
        loaded.keep_own_roles(options)
        loaded.echo_notices()
        result = scan_inventory(loaded.inventory, load_rules(options), options, loaded.notices, loaded.files)
    text = render(build(result, top=top), fmt, color=fmt == "table" and use_color(no_color, output))
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"kube-auditor: threat model of {len(result.findings)} finding(s) written to {output}", err=True)
    else:
        click.echo(text, nl=False)
