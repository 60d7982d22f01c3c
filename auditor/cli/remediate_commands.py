"""``fix``, ``remediate``, ``apply`` and ``rollback``: from findings to a changed cluster.

Exit codes: ``fix`` 0 (2 on errors); ``remediate`` 0; ``apply`` 0 when everything was
applied (or there was nothing to do), 1 when it stopped at a failure or the dry run failed,
2 on errors; ``rollback`` 0 when everything was restored, 1 when something could not be.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..pipeline import ScanOptions
from . import (
    EXIT_ERROR,
    EXIT_FINDINGS,
    EXIT_OK,
    fail,
    main,
    policy_option,
)
from .inputs import Inputs, input_options
from .scan_settings import load_config_file, rule_options, scan_options


def _scan_options(policy_dirs, no_builtin_policies, config_path, default_namespace, max_file_size) -> ScanOptions:
    return scan_options(
        policy_dirs=policy_dirs,
        no_builtin_policies=no_builtin_policies,
        config=load_config_file(config_path),
        default_namespace=default_namespace,
        max_file_size=max_file_size,
    )


def _common_options(func):
    func = click.option("--max-file-size", default="50MB", show_default=True, help="Refuse input files larger than this.")(func)
    func = click.option("--default-namespace", default="default", show_default=True, help="Namespace for namespaced objects that name none.")(func)
    func = click.option("--config", "config_path", type=click.Path(path_type=Path), help="Configuration file (rules off, waivers).")(func)
    func = click.option("--no-builtin-policies", is_flag=True, help="Use only the packs given with --policy.")(func)
    return policy_option(func)


# ----------------------------------------------------------------------------- fix


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--write", is_flag=True, help="Rewrite the files in place.")
@click.option("--output", "output", type=click.Path(file_okay=False, path_type=Path), help="Write the fixed tree into DIR (mirroring the inputs).")
@click.option("--diff", "show_diff", is_flag=True, help="Print a unified diff of the changes.")
@click.option("--rule", "rule_ids", multiple=True, help="Fix only findings of this rule (repeatable).")
@click.option("--risky", is_flag=True, help="Also apply fixes that may break a workload (see docs/remediation.md).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True, help="Format of the report on stderr.")
@_common_options
def fix(paths, write, output, show_diff, rule_ids, risky, fmt, policy_dirs, no_builtin_policies,
        config_path, default_namespace, max_file_size) -> None:
    """Rewrite manifests so that findings with a mechanical fix go away.

    Only what a finding calls for is changed, and nothing else in the files: comments, key
    order, quoting and formatting stay. Findings that need judgment are listed, not guessed.

    \b
    Examples:
      kube-auditor fix k8s/ --diff                 # preview
      kube-auditor fix k8s/ --write                # in place
      kube-auditor fix k8s/ --output fixed/        # a fixed copy of the tree
      kube-auditor fix k8s/ --write --rule KA-CTR-007
    """
    from ..remediate.fix import FixOptions, plan_fixes, write_in_place, write_mirror

    if not (write or output or show_diff):
        raise click.UsageError("say what to do with the fixes: --write, --output DIR or --diff")
    if write and output:
        raise click.UsageError("--write and --output exclude each other")
    options = FixOptions(
        scan=_scan_options(policy_dirs, no_builtin_policies, config_path, default_namespace, max_file_size),
        rules=set(rule_ids) or None,
        risky=risky,
    )
    report = plan_fixes(list(paths), options)
    if show_diff:
        for change in report.changed_files:
            click.echo(change.diff(), nl=False)
    if write:
        written = write_in_place(report)
        where = f"{len(written)} file(s) rewritten"
    elif output:
        write_mirror(report, output)
        where = f"fixed tree written to {output}"
    else:
        where = "nothing written (--diff only)"
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), indent=2), err=True)
    else:
        _print_fix_report(report, where)
    sys.exit(EXIT_OK)


def _print_fix_report(report, where: str) -> None:
    from ..remediate.fix import FIXED, WAIVED

    lines = []
    for outcome in report.outcomes:
        finding = outcome.finding
        head = f"{finding.rule} {finding.resource.display}" + (f" ({finding.container})" if finding.container else "")
        head += f" [{finding.resource.source.file}:{finding.resource.source.line}]"
        if outcome.status == WAIVED:
            lines.append(f"  waived   {head}")
            continue
        mark = {"fixed": "fixed   ", "partial": "partial ", "not-fixed": "left    "}[outcome.status]
        lines.append(f"  {mark} {head}")
        for step in outcome.applied:
            lines.append(f"      + {step.where}: {step.what}")
        for step in outcome.pending:
            if outcome.problem:
                lines.append(f"      ! {step.where}: {step.what}: {outcome.problem}")
            elif step.tier == "risky":
                lines.append(f"      ? {step.where}: {step.what} (with --risky: {step.why})")
            elif step.where == "object":
                lines.append(f"      - {step.why}: {step.what}")
            else:
                lines.append(f"      - {step.where}: {step.what}" + (f" ({step.why})" if step.why else ""))
    counts = report.summary()
    for notice in report.notices:
        click.echo(f"kube-auditor: warning: {notice}", err=True)
    if lines:
        click.echo("\n".join(lines), err=True)
    click.echo(
        f"kube-auditor: {counts[FIXED]} finding(s) fixed, {counts['partial']} partly, "
        f"{counts['not-fixed']} left for review, {counts[WAIVED]} waived; "
        f"{len(report.changed_files)} file(s) changed; {where}",
        err=True,
    )


# ----------------------------------------------------------------------------- remediate


@main.command()
@input_options()
@click.option("-o", "--output", "output", required=True, type=click.Path(file_okay=False, path_type=Path), help="Directory for the manifests and PLAN.md.")
@click.option("--audit-log", "audit_log", type=click.Path(dir_okay=False, exists=True, path_type=Path), help="Kubernetes audit log (JSON lines) for least-privilege RBAC.")
@click.option("--ingress-namespace", default="ingress-nginx", show_default=True, help="Namespace of the ingress controller.")
@click.option("--api-server-cidr", help="Address range of the API server, for the egress of pods that use it.")
@click.option("--include-system-namespaces", is_flag=True, help="Also write policies for kube-system, kube-public and kube-node-lease.")
@rule_options(pss=False, builtin_rbac=False, config_help="Configuration file (rules off, waivers).")
def remediate(inputs: Inputs, output, audit_log, ingress_namespace, api_server_cidr, include_system_namespaces,
              policy_dirs, no_builtin_policies, config_path) -> None:
    """Write remediation manifests per namespace, and a PLAN.md saying what each blocks and could break.

    \b
    NetworkPolicies: default deny, plus the flows the inventory needs.
    Pod Security: namespace labels at the strictest level its workloads pass.
    RBAC: least-privilege roles from an audit log (--audit-log).

    \b
    Examples:
      kube-auditor remediate k8s/ -o remediation/
      kube-auditor remediate k8s/ --audit-log audit.log -o remediation/
      kube-auditor remediate --cluster --context prod -o remediation/
      kube-auditor apply remediation/
    """
    from ..pipeline import load_rules, scan_inventory
    from ..remediate.netpol import NetpolOptions
    from ..remediate.plan import RemediateOptions, build_plan, write_plan

    options = _scan_options(policy_dirs, no_builtin_policies, config_path, inputs.namespace, inputs.max_file_size)
    rules = load_rules(options)
    loaded = inputs.read()
    loaded.keep_own_roles(options)
    loaded.echo_notices()
    inventory = loaded.inventory
    result = scan_inventory(inventory, rules, options, loaded.notices, loaded.files)
    plan = build_plan(
        inventory,
        result.findings,
        RemediateOptions(
            netpol=NetpolOptions(ingress_namespace=ingress_namespace, api_server_cidr=api_server_cidr),
            audit_log=audit_log,
            include_system_namespaces=include_system_namespaces,
            sources=loaded.given,
        ),
    )
    written = write_plan(plan, output)
    click.echo(f"kube-auditor: wrote {len(written) - 1} manifest file(s) and {output / 'PLAN.md'}", err=True)
    click.echo(f"kube-auditor: read {output / 'PLAN.md'}, then: kube-auditor apply {output}", err=True)
    sys.exit(EXIT_OK)


# ----------------------------------------------------------------------------- apply


def _cluster(kubeconfig, context):
    from ..apply import Cluster, ClusterError

    try:
        return Cluster(kubeconfig, context)
    except ClusterError as error:
        fail(str(error))


def _cluster_options(func):
    func = click.option("--kubeconfig", type=click.Path(dir_okay=False, exists=True), help="Kubeconfig file (default: $KUBECONFIG or ~/.kube/config).")(func)
    func = click.option("--context", help="Kubeconfig context (default: the current one).")(func)
    return func


@main.command("apply")
@click.argument("directory", type=click.Path(exists=True, file_okay=True, path_type=Path))
@_cluster_options
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--force-conflicts", is_flag=True, help="Take over fields another field manager owns.")
@click.option("--backup-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True, help="Where the backup file is written.")
def apply_command(directory, context, kubeconfig, yes, force_conflicts, backup_dir) -> None:
    """Server-side apply the manifests of DIRECTORY (field manager kube-auditor), safely.

    A server-side dry run and a diff against the live objects come first; nothing changes
    unless you confirm (or give --yes). Before the first change a backup of every object that
    will change, and the list of objects that will be created, is written to a timestamped
    file for `kube-auditor rollback`. Apply stops at the first failure. It never deletes, and
    never creates namespaces.
    """
    from ..apply.apply import backup_path, execute, load_manifests, plan_apply

    manifests = load_manifests(directory)
    if not manifests:
        fail(f"{directory}: no manifests to apply")
    cluster = _cluster(kubeconfig, context)
    plan = plan_apply(cluster, manifests, force=force_conflicts)
    for change in plan.changes:
        if change.action != "unchanged" and not change.error:
            click.echo(change.diff(), nl=False)
    counts = {a: sum(1 for c in plan.pending if c.action == a) for a in ("create", "update")}
    unchanged = sum(1 for c in plan.changes if c.action == "unchanged" and not c.error)
    if plan.errors:
        for change in plan.errors:
            click.echo(f"kube-auditor: dry run failed: {change.ref.display}: {change.error}", err=True)
        click.echo("kube-auditor: nothing was applied", err=True)
        sys.exit(EXIT_FINDINGS)
    click.echo(
        f"kube-auditor: {counts['create']} to create, {counts['update']} to change, {unchanged} unchanged "
        f"(server-side dry run against {cluster.server})",
        err=True,
    )
    if not plan.pending:
        sys.exit(EXIT_OK)
    if not yes and not click.confirm("Apply these changes?", default=False, err=True):
        click.echo("kube-auditor: nothing was applied", err=True)
        sys.exit(EXIT_FINDINGS)
    backup = backup_path(backup_dir)
    result = execute(cluster, plan, backup, str(directory), force=force_conflicts)
    for change in result.applied:
        click.echo(f"  applied      {change.ref.display} ({change.action})", err=True)
    if result.failed is not None:
        click.echo(f"  FAILED       {result.failed.ref.display}: {result.failed.error}", err=True)
        for change in result.not_attempted:
            click.echo(f"  not applied  {change.ref.display}", err=True)
        click.echo(
            f"kube-auditor: stopped at the first failure: {len(result.applied)} applied, "
            f"{len(result.not_attempted) + 1} not; undo with: kube-auditor rollback {backup}",
            err=True,
        )
        sys.exit(EXIT_FINDINGS)
    click.echo(f"kube-auditor: {len(result.applied)} applied; backup: {backup} (kube-auditor rollback {backup})", err=True)
    sys.exit(EXIT_OK)


@main.command("rollback")
@click.argument("backup", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_cluster_options
@click.option("--force", is_flag=True, help="Also restore or delete objects changed since the apply.")
def rollback_command(backup, context, kubeconfig, force) -> None:
    """Restore what `kube-auditor apply` changed, exactly, and delete only what it created.

    Objects changed by someone else since the apply are left alone and reported, unless
    --force. Nothing else is ever deleted.
    """
    from ..apply import read_backup, rollback

    data = read_backup(backup)
    cluster = _cluster(kubeconfig, context or data.get("context"))
    if data.get("server") and data["server"] != cluster.server:
        fail(f"{backup} was taken on {data['server']}, not {cluster.server}; pick that cluster with --context/--kubeconfig")
    result = rollback(cluster, data, force=force)
    for label, items in (("restored", result.restored), ("deleted", result.deleted),
                         ("unchanged", result.unchanged), ("skipped", result.skipped), ("FAILED", result.failed)):
        for item in items:
            click.echo(f"  {label:<10} {item}", err=True)
    click.echo(
        f"kube-auditor: {len(result.restored)} restored, {len(result.deleted)} deleted, "
        f"{len(result.skipped)} skipped, {len(result.failed)} failed",
        err=True,
    )
    sys.exit(EXIT_OK if result.ok else EXIT_FINDINGS)


__all__ = ["EXIT_ERROR", "EXIT_FINDINGS", "fail"]
