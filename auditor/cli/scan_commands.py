"""``scan``, ``rules``, ``explain`` and ``version``: the scan pipeline's commands."""

from __future__ import annotations

import json
import platform
import re
import sys
from pathlib import Path

import click
import yaml

from .. import __version__
from ..analysis.rbac import builtin_rbac_summary
from ..engine.baseline import write_baseline
from ..engine.rules import Rule
from ..pipeline import ScanOptions, load_rules, scan_inventory
from ..report import FORMATS, ReportOptions, render, write_report
from ..resources import rule_fixtures_dir
from ..runtime import gc_paused
from . import (
    EXIT_FINDINGS,
    EXIT_OK,
    FAIL_ON_CHOICES,
    fail,
    live_source,
    main,
    policy_option,
    severity_or_none,
    use_color,
)
from .inputs import Inputs
from .render_options import helm_options, no_remote_option, render_settings
from .scan_settings import include_owned_option, load_config_file, rule_options, scan_options


@main.command()
@click.argument("paths", nargs=-1)
@click.option("--workshop", is_flag=True, help="Scan the bundled workshop scenario (a demo cluster).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the report to FILE.")
@click.option(
    "--fail-on",
    type=click.Choice(FAIL_ON_CHOICES),
    default=None,
    help="Exit 1 when a finding is at or above this severity (default: high, or the config's failOn).",
)
@rule_options()
@click.option("--baseline", "baseline_path", type=click.Path(path_type=Path), help="Only findings absent from this baseline count for the gate.")
@click.option("--write-baseline", "write_baseline_path", type=click.Path(path_type=Path), help="Write the current findings as a baseline file.")
@click.option("--default-namespace", default="default", show_default=True, help="Namespace for namespaced objects that name none.")
@click.option("--strict", is_flag=True, help="Treat input warnings (skipped documents) as errors.")
@click.option("--max-file-size", default="50MB", show_default=True, help="Refuse input files larger than this.")
@include_owned_option
@click.option("--no-color", is_flag=True, help="Never colour the table output.")
@live_source.cluster_options()
@click.option("--helm", "helm_charts", metavar="CHART_DIR", multiple=True, help="Render a Helm chart with helm template and scan it (repeatable; a chart directory given as PATH is rendered too).")
@click.option("--kustomize", "kustomizations", metavar="DIR", multiple=True, help="Build a kustomization with kustomize build and scan it (repeatable).")
@helm_options(namespace=False)
@no_remote_option
def scan(
    paths: tuple[str, ...],
    workshop: bool,
    fmt: str,
    output: str | None,
    fail_on: str | None,
    policy_dirs: tuple[Path, ...],
    no_builtin_policies: bool,
    config_path: Path | None,
    baseline_path: Path | None,
    write_baseline_path: Path | None,
    default_namespace: str,
    strict: bool,
    max_file_size: str,
    include_owned: bool,
    no_color: bool,
    no_builtin_rbac: bool,
    pss_level: str | None,
    pss_version: str | None,
    kube_version: str | None,
    cluster: bool = False,
    context: str | None = None,
    kubeconfig: str | None = None,
    namespaces: tuple[str, ...] = (),
    helm_charts: tuple[str, ...] = (),
    kustomizations: tuple[str, ...] = (),
    values_files: tuple[str, ...] = (),
    set_values: tuple[str, ...] = (),
    release: str | None = None,
    no_remote: bool = False,
) -> None:
    """Scan manifest files, directories (recursively) or - (stdin), or a live cluster.

    \b
    Examples:
      kube-auditor scan k8s/
      kube-auditor scan --format sarif -o results.sarif manifests/
      kubectl get all -A -o json | kube-auditor scan -
      kube-auditor scan --workshop
      kube-auditor scan --cluster --context prod -n shop
      kube-auditor scan --helm charts/shop --values prod.yaml -n shop
      kube-auditor scan --kustomize overlays/prod
    """
    inputs = Inputs(
        list(paths), workshop, cluster, context, kubeconfig, namespaces, default_namespace,
        max_file_size, strict,
        hint="give PATH... to scan, - for stdin, --helm/--kustomize, --cluster, or --workshop for the bundled demo",
        helm_charts=helm_charts,
        kustomizations=kustomizations,
    )
    # -n for files and charts is the namespace they are applied to (inputs.namespace)
    inputs.render = render_settings(values_files, set_values, release, inputs.namespace, not no_remote)
    config = load_config_file(config_path)
    gate = severity_or_none(fail_on or config.fail_on or "high")
    options = scan_options(
        policy_dirs=policy_dirs,
        no_builtin_policies=no_builtin_policies,
        config=config,
        baseline_path=baseline_path,
        default_namespace=inputs.namespace,
        strict=strict,
        max_file_size=max_file_size,
        pss_level=pss_level,
        pss_version=pss_version,
        kube_version=kube_version,
        builtin_rbac=not no_builtin_rbac,
        include_owned=include_owned,
    )
    with gc_paused():  # the scan and its rendering allocate much and free little
        loaded = inputs.read()
        loaded.keep_own_roles(options)
        result = scan_inventory(loaded.inventory, load_rules(options), options, loaded.notices, loaded.files)
        loaded.locate_rendered(result.findings)
        if write_baseline_path:
            count = write_baseline(write_baseline_path, result.findings)
            click.echo(f"kube-auditor: wrote {count} finding(s) to baseline {write_baseline_path}", err=True)
        report_options = ReportOptions(fail_on=gate, color=use_color(no_color, output))
        if output:
            with open(output, "wb") as stream:
                write_report(result, fmt, report_options, stream)
        elif fmt == "json":  # streamed: a large report never exists in memory whole
            sys.stdout.flush()
            write_report(result, fmt, report_options, sys.stdout.buffer)
            sys.stdout.buffer.flush()
        else:
            click.echo(render(result, fmt, report_options), nl=False)
    if output:
        summary = result.summary(gate)
        click.echo(
            f"kube-auditor: {summary['active']} finding(s), {summary['failing']} at or above "
            f"{summary['failOn']}; report written to {output}",
            err=True,
        )
    sys.exit(EXIT_FINDINGS if result.failing(gate) else EXIT_OK)


#: first-line comments that tell the fixture tests what to expect (``# expect-findings: 2``)
_FIXTURE_DIRECTIVE = re.compile(r"^#\s*(?:expect-findings|kube-version):")


def _rules_for_listing(policy_dirs: tuple[Path, ...]) -> list[Rule]:
    return load_rules(ScanOptions(policy_dirs=list(policy_dirs)))


def rule_summary(rule: Rule) -> dict:
    return {
        "id": rule.id,
        "title": rule.title,
        "severity": rule.severity.value,
        "stride": [s.value for s in rule.stride],
        "layer": rule.layer.value,
        "frameworks": rule.frameworks,
        "pack": rule.pack,
    }


@main.command("rules")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@policy_option
def list_rules(fmt: str, policy_dirs: tuple[Path, ...]) -> None:
    """List every rule with its severity, STRIDE categories, 4C layer and frameworks."""
    rules = sorted(_rules_for_listing(policy_dirs), key=lambda r: r.id)
    if fmt == "json":
        click.echo(json.dumps([rule_summary(r) for r in rules], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("id", "severity", "STRIDE", "layer", "frameworks", "title"):
        table.add_column(column)
    for rule in rules:
        frameworks = " ".join(f"{k}:{','.join(v)}" for k, v in rule.frameworks.items())
        table.add_row(
            rule.id, rule.severity.value, ",".join(s.value for s in rule.stride),
            rule.layer.value, frameworks, rule.title,
        )
    Console(width=200, no_color=True, highlight=False).print(table)


@main.command()
@click.argument("rule_id")
@policy_option
def explain(rule_id: str, policy_dirs: tuple[Path, ...]) -> None:
    """Explain one rule: its risk, fix, frameworks, check and an example."""
    rules = {r.id: r for r in _rules_for_listing(policy_dirs)}
    rule = rules.get(rule_id.upper())
    if rule is None:
        close = [r for r in rules if rule_id.upper() in r]
        hint = f"; did you mean {', '.join(sorted(close)[:5])}?" if close else "; see kube-auditor rules"
        fail(f"no rule {rule_id!r}{hint}")
    lines = [
        f"{rule.id}: {rule.title}",
        f"  severity: {rule.severity.value}    STRIDE: {', '.join(s.value for s in rule.stride)}"
        f"    layer: {rule.layer.value}    pack: {rule.pack}",
    ]
    if rule.frameworks:
        lines.append(
            "  frameworks: "
            + "; ".join(f"{k.upper()} {', '.join(v)}" for k, v in rule.frameworks.items())
        )
    lines += ["", "Risk:", f"  {rule.risk}", "", "Fix:", f"  {rule.remediation}", "", "Check:"]
    check = rule.check.model_dump(by_alias=True, exclude_defaults=True, exclude_none=True)
    check_yaml = yaml.safe_dump(check, sort_keys=False, default_flow_style=False).rstrip()
    lines += ["  " + line for line in check_yaml.splitlines()]
    if rule.target != "object":
        lines.append(f"  (evaluated per {rule.target})")
    fixtures = rule_fixtures_dir() / rule.id
    for label, name in (("Example that triggers it", "bad.yaml"), ("Example that passes", "good.yaml")):
        path = fixtures / name
        if path.is_file():
            lines += ["", f"{label} ({name}):"]
            lines += [
                "  " + line
                for line in path.read_text(encoding="utf-8").rstrip().splitlines()
                if not _FIXTURE_DIRECTIVE.match(line)  # test settings, not part of the example
            ]
    click.echo("\n".join(lines))


@main.command()
def version() -> None:
    """Print versions of kube-auditor and of what it relies on."""
    try:
        import yaml_rs

        fast_parser = f"yaml-rs {getattr(yaml_rs, '__version__', None) or _dist_version('yaml-rs')}"
    except ImportError:
        fast_parser = "none (every document is parsed by libyaml)"
    click.echo(f"kube-auditor {__version__}")
    click.echo(f"python {platform.python_version()}")
    click.echo(f"yaml parsers: {fast_parser}; PyYAML {yaml.__version__} (libyaml: {yaml.__with_libyaml__})")
    click.echo(f"built-in RBAC roles: {builtin_rbac_summary()}")


def _dist_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version(name)
    except PackageNotFoundError:
        return "unknown"
