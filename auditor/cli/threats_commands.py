"""``threats``: the scan's findings as a threat model, by STRIDE category and 4C layer.

The findings come from the same pipeline as ``scan`` (same rules, config, waivers and
baseline); :class:`ThreatSource` decides where the objects come from. Manifests today; a
live cluster (``--cluster``) will be one more field and one more branch in
:meth:`ThreatSource.load`, returning the inventory the live loader builds. The report is
information, not a gate: exit 0, or 2 on bad input (``scan`` is the CI gate).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from ..engine.baseline import load_baseline
from ..engine.config import Config, load_config
from ..engine.notices import Notice
from ..inventory import Inventory, LoadOptions, ParseLimits
from ..pipeline import ScanOptions, load_inventory, load_rules, scan_inventory
from ..report.threat_model import THREAT_FORMATS, build, render
from ..resources import workshop_dir
from . import display_path, main, parse_size, policy_option, use_color
from .scan_commands import _kube_version, _pss_settings


@dataclass
class ThreatSource:
    """Where the objects come from."""

    paths: list[str]
    workshop: bool = False

    def load(self, options: ScanOptions) -> tuple[Inventory, list[Notice], list[str]]:
        inputs = list(self.paths)
        if self.workshop:
            inputs.append(display_path(workshop_dir()))
        if not inputs:
            raise click.UsageError("give PATH... to read, - for stdin, or --workshop for the bundled demo")
        return load_inventory(inputs, options)


@main.command()
@click.argument("paths", nargs=-1)
@click.option("--workshop", is_flag=True, help="Read the bundled workshop scenario (a demo cluster).")
@click.option("--format", "fmt", type=click.Choice(THREAT_FORMATS), default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the report to FILE.")
@click.option("--top", type=click.IntRange(1, 1000), default=5, show_default=True, help="Findings listed per group.")
@policy_option
@click.option("--no-builtin-policies", is_flag=True, help="Use only the packs given with --policy.")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="Configuration file (YAML).")
@click.option("--baseline", "baseline_path", type=click.Path(path_type=Path), help="Count findings of this baseline apart.")
@click.option("--default-namespace", default="default", show_default=True, help="Namespace for namespaced objects that name none.")
@click.option("--max-file-size", default="50MB", show_default=True, help="Refuse input files larger than this.")
@click.option("--no-color", is_flag=True, help="Never colour the table output.")
@click.option("--no-builtin-rbac", is_flag=True, help="Do not merge Kubernetes' built-in RBAC roles and bindings.")
@click.option("--kube-version", default=None, metavar="1.N", help="The target cluster's Kubernetes version (e.g. 1.30).")
@click.option("--pss-level", type=click.Choice(["baseline", "restricted"]), default=None, help="Pod Security level the KA-PSS rules check (as for scan).")
@click.option("--pss-version", metavar="v1.N|latest", default=None, help="Pod Security policy version the KA-PSS rules check (as for scan).")
def threats(
    paths: tuple[str, ...],
    workshop: bool,
    fmt: str,
    output: str | None,
    top: int,
    policy_dirs: tuple[Path, ...],
    no_builtin_policies: bool,
    config_path: Path | None,
    baseline_path: Path | None,
    default_namespace: str,
    max_file_size: str,
    no_color: bool,
    no_builtin_rbac: bool,
    kube_version: str | None,
    pss_level: str | None,
    pss_version: str | None,
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
    """
    config = load_config(config_path) if config_path else Config()
    options = ScanOptions(
        policy_dirs=list(policy_dirs),
        builtin_policies=not no_builtin_policies,
        config=config,
        baseline=load_baseline(baseline_path) if baseline_path else None,
        default_namespace=default_namespace,
        load=LoadOptions(max_file_bytes=parse_size(max_file_size), limits=ParseLimits()),
        settings=_pss_settings(config, pss_level, pss_version),
    )
    options.settings.extra["rbac.builtin"] = not no_builtin_rbac
    options.settings.kube_version = _kube_version(kube_version)
    inventory, notices, files = ThreatSource(list(paths), workshop).load(options)
    for notice in notices:
        click.echo(f"kube-auditor: warning: {notice}", err=True)
    result = scan_inventory(inventory, load_rules(options), options, notices, files)
    text = render(build(result, top=top), fmt, color=fmt == "table" and use_color(no_color, output))
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"kube-auditor: threat model of {len(result.findings)} finding(s) written to {output}", err=True)
    else:
        click.echo(text, nl=False)
