"""``export vap``: the rules as ValidatingAdmissionPolicies, enforced by the API server."""

from __future__ import annotations

from pathlib import Path

import click

from . import main, policy_option


@main.group()
def export() -> None:
    """Export the rules in other enforcement formats."""


@export.command("vap")
@policy_option
@click.option("--no-builtin-policies", is_flag=True, help="Use only the packs given with --policy.")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="Scan configuration file (rules, severities, pss, skipNamespaces).")
@click.option("--mode", type=click.Choice(["deny", "warn", "audit"]), default="deny", show_default=True,
              help="deny: rules at or above --threshold deny and the others warn; warn or audit: every rule.")
@click.option("--threshold", type=click.Choice(["critical", "high", "medium", "low", "info"]), default=None,
              help="Severity from which --mode deny denies (default: the config's failOn, else high).")
@click.option("--exclude-namespace", "exclude_namespaces", multiple=True, default=("kube-system",), show_default=True,
              help="Namespace no policy applies to (repeatable; the config's skipNamespaces are added).")
@click.option("--prefix", default="kube-auditor", show_default=True, help="Prefix of the policies' names.")
@click.option("--quiet", "-q", is_flag=True, help="Do not list the rules that could not be compiled on stderr.")
def export_vap(
    policy_dirs: tuple[Path, ...], no_builtin_policies: bool, config_path: Path | None, mode: str,
    threshold: str | None, exclude_namespaces: tuple[str, ...], prefix: str, quiet: bool,
) -> None:
    """Compile the rules into ValidatingAdmissionPolicies and their bindings.

    Prints YAML for kubectl apply -f - (admissionregistration.k8s.io/v1, Kubernetes 1.30+).
    Rules that CEL cannot express are listed in a comment at the top and on stderr.

    \b
    Example:
      kube-auditor export vap --mode warn | kubectl apply -f -
    """
    from ..analysis.registry import AnalysisSettings
    from ..engine.config import Config, load_config
    from ..pipeline import ScanOptions, load_rules
    from ..threat import Severity
    from ..webhook.manifests import render_yaml
    from ..webhook.vap import ExportOptions, export_policies

    config = load_config(config_path) if config_path else Config()
    rules = load_rules(
        ScanOptions(policy_dirs=list(policy_dirs), builtin_policies=not no_builtin_policies, config=config)
    )
    gate = threshold or (config.fail_on if config.fail_on not in (None, "none") else "high")
    options = ExportOptions(
        mode=mode,
        threshold=Severity(gate),
        exclude_namespaces=sorted(set(exclude_namespaces) | set(config.skip_namespaces)),
        settings=AnalysisSettings(
            pss_level=config.pss.level or "restricted", pss_version=config.pss.version or "latest"
        ),
        prefix=prefix,
    )
    result = export_policies(rules, options)
    header = [
        f"# kube-auditor export vap: {len(result.compiled)} rule(s) compiled, "
        f"{len(result.skipped)} not compiled (mode {mode}, deny at or above {gate})",
    ]
    header += [f"#   not compiled: {rule_id}: {why}" for rule_id, why in result.skipped]
    click.echo("\n".join(header))
    click.echo(render_yaml(result.objects), nl=False)
    if not quiet:
        click.echo(
            f"kube-auditor: {len(result.compiled)} rule(s) compiled to ValidatingAdmissionPolicies; "
            f"{len(result.skipped)} not compiled" + (":" if result.skipped else ""),
            err=True,
        )
        for rule_id, why in result.skipped:
            click.echo(f"  {rule_id}: {why}", err=True)
