"""``rbac``: who can, can, permissions and escalation paths, over manifests or a cluster.

Every command reads its input as the other analysis commands do (:mod:`.inputs`): manifest
files, directories or ``-`` given as trailing arguments, ``--workshop``, or ``--cluster``
(only the RBAC kinds, except for ``paths``, which also follows pods and token Secrets).
Kubernetes' built-in roles are merged unless ``--no-builtin-rbac``; a cluster, or a
snapshot of one, has its own.

``rbac can`` exits 0 for yes and 1 for no, as ``kubectl auth can-i`` does; every command
exits 2 on bad input.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from ..analysis.rbac import RBACModel, SubjectError, parse_subject
from ..analysis.rbac.identity import looks_like_subject
from ..analysis.rbac.paths import DEFAULT_MAX_DEPTH, DEFAULT_MAX_NODES, TARGET, EscalationGraph
from ..analysis.rbac.policy import Request
from ..analysis.rbac.queries import permissions as permissions_of
from ..analysis.rbac.queries import user_for
from ..analysis.rbac.render import (
    decision_text,
    dumps,
    paths_dot,
    paths_json,
    paths_mermaid,
    paths_text,
    permissions_text,
    who_can_json,
    who_can_text,
)
from ..inventory import Inventory
from . import EXIT_FINDINGS, EXIT_OK, fail, live_source, main
from .inputs import Inputs, input_options


def source_options(func):
    """The options every ``rbac`` command shares: the input (:mod:`.inputs`; ``-n`` is the
    request's namespace here, so there is none for the cluster) and the built-in roles."""
    func = click.option(
        "--builtin-rbac-file", type=click.Path(path_type=Path, dir_okay=False),
        help="Read built-in roles from this bootstrap dump instead of the bundled one.",
    )(func)
    func = click.option("--no-builtin-rbac", is_flag=True, help="Do not merge Kubernetes' built-in roles and bindings.")(func)
    return input_options(
        paths_argument=False, namespaces=False,
        hint="give manifest PATH..., - for stdin, --cluster, or --workshop",
    )(func)


def _model(
    inputs: Inputs, no_builtin_rbac: bool, builtin_rbac_file: Path | None, rbac_only: bool = True,
) -> tuple[Inventory, RBACModel]:
    """The RBAC model of the input; from a cluster only the RBAC kinds are read if ``rbac_only``."""
    loaded = inputs.read(live_source.RBAC_RESOURCES if rbac_only else None)
    loaded.echo_notices()
    builtin = loaded.builtin_rbac(enabled=not no_builtin_rbac, path=builtin_rbac_file)
    if loaded.own_roles is None and builtin.enabled and not builtin.available:
        click.echo(f"kube-auditor: note: built-in RBAC roles {builtin.status}", err=True)
    return loaded.inventory, RBACModel.build(loaded.inventory, builtin)


def _format_option(choices: tuple[str, ...] = ("table", "json")):
    return click.option("--format", "fmt", type=click.Choice(choices), default="table", show_default=True)


def _request_options(func):
    func = click.option("--api-group", default=None, help="API group (default: from RESOURCE.GROUP, else the resource's usual group).")(func)
    func = click.option("--name", default=None, help="Object name (resourceNames).")(func)
    func = click.option("-n", "--namespace", default=None, help="Namespace of the request (none: cluster-wide).")(func)
    return func


def _subject(text: str):
    try:
        return parse_subject(text)
    except SubjectError as error:
        fail(str(error))


@main.group("rbac")
def rbac() -> None:
    """Query RBAC with the API server's semantics: who-can, can, permissions, paths.

    \b
    Input: manifest files, directories or - after the arguments, --workshop, or --cluster
    (a live cluster's RBAC objects). Built-in roles (cluster-admin, edit, system:*) are
    merged unless --no-builtin-rbac; a live cluster, or a snapshot of one, has its own.
    """


@rbac.command("who-can")
@click.argument("verb")
@click.argument("resource")
@click.argument("paths", nargs=-1)
@_request_options
@source_options
@_format_option()
def who_can(verb, resource, namespace, name, api_group, fmt, inputs, **builtin) -> None:
    """Every subject allowed to VERB RESOURCE[/SUBRESOURCE] (or a /non-resource/url).

    \b
    Examples:
      kube-auditor rbac who-can get secrets -n prod k8s/
      kube-auditor rbac who-can create pods/exec -n shop --workshop
      kube-auditor rbac who-can get /metrics manifests/
    """
    _, model = _model(inputs, **builtin)
    request = Request.parse(verb, resource, namespace, name, api_group)
    entries = model.who_can(request)
    builtin = model.builtin.status if model.builtin else "not merged"
    if fmt == "json":
        click.echo(dumps(who_can_json(request, entries, builtin)), nl=False)
    else:
        click.echo(who_can_text(request, entries), nl=False)


@rbac.command("can")
@click.argument("subject")
@click.argument("verb")
@click.argument("resource")
@click.argument("paths", nargs=-1)
@_request_options
@click.option("--as-group", "as_groups", multiple=True, help="An extra group of the subject (repeatable).")
@click.option("--no-implicit-groups", is_flag=True, help="Do not add the groups authentication adds (system:authenticated, system:serviceaccounts…).")
@source_options
@_format_option()
def can(subject, verb, resource, namespace, name, api_group, as_groups, no_implicit_groups, fmt, inputs, **builtin) -> None:
    """Whether SUBJECT may VERB RESOURCE[/SUBRESOURCE] (or a /non-resource/url), and why.

    SUBJECT is user:NAME, group:NAME, sa:NAMESPACE:NAME or system:serviceaccount:NS:NAME.
    Exit code 0 means yes and 1 means no, as for kubectl auth can-i.

    \b
    Examples:
      kube-auditor rbac can sa:default:test-sa list pods --workshop
      kube-auditor rbac can user:alice get /healthz manifests/
      kube-auditor rbac can user:bob create deployments -n shop --as-group devs k8s/
    """
    ref = _subject(subject)
    _, model = _model(inputs, **builtin)
    user = user_for(ref, tuple(as_groups), implicit=not no_implicit_groups)
    decision = model.authorize(user, Request.parse(verb, resource, namespace, name, api_group))
    if fmt == "json":
        click.echo(dumps(decision.to_dict()), nl=False)
    else:
        click.echo(decision_text(decision), nl=False)
    sys.exit(EXIT_OK if decision.allowed else EXIT_FINDINGS)


@rbac.command("permissions")
@click.argument("subject")
@click.argument("paths", nargs=-1)
@click.option("--as-group", "as_groups", multiple=True, help="An extra group of the subject (repeatable).")
@click.option("--no-implicit-groups", is_flag=True, help="Do not add the groups authentication adds.")
@source_options
@_format_option()
def permissions(subject, as_groups, no_implicit_groups, fmt, inputs, **builtin) -> None:
    """The effective rules of SUBJECT, cluster-wide and per namespace, with their bindings."""
    ref = _subject(subject)
    _, model = _model(inputs, **builtin)
    result = permissions_of(model, ref, tuple(as_groups), implicit=not no_implicit_groups)
    if fmt == "json":
        click.echo(dumps(result.to_dict()), nl=False)
    else:
        click.echo(permissions_text(result), nl=False)


@rbac.command("paths")
@click.argument("args", nargs=-1, metavar="[SUBJECT] [PATH]...")
@click.option("--to", "to", default=TARGET, show_default=True, help="Target: cluster-admin, or a subject such as sa:kube-system:admin.")
@click.option("--include-system", is_flag=True, help="Also list Kubernetes' own identities (system: users, controller accounts).")
@click.option("--max-depth", default=DEFAULT_MAX_DEPTH, show_default=True, type=click.IntRange(1, 64), help="Longest path followed, in steps.")
@click.option("--max-nodes", default=DEFAULT_MAX_NODES, show_default=True, type=click.IntRange(10), help="Most graph nodes explored.")
@source_options
@_format_option(("table", "json", "dot", "mermaid"))
def paths(args, to, include_system, max_depth, max_nodes, fmt, inputs, **builtin) -> None:
    """Escalation paths from SUBJECT (or from every subject) to cluster-admin or --to.

    The first argument is the subject when it reads as one (user:, group:, sa:,
    system:serviceaccount:) and is not an existing file.

    \b
    Examples:
      kube-auditor rbac paths manifests/
      kube-auditor rbac paths sa:ci:deployer manifests/ --format mermaid
      kube-auditor rbac paths user:alice --to sa:kube-system:admin-user k8s/
    """
    args = list(args)
    subject = None
    if args and looks_like_subject(args[0]) and not os.path.exists(args[0]):
        subject = parse_subject(args.pop(0))
    target = TARGET if to == TARGET else _subject(to).node_id
    inputs.paths = args
    inventory, model = _model(inputs, **builtin, rbac_only=False)
    graph = EscalationGraph(model, inventory)
    if subject is not None:
        path, report = graph.path(subject.node_id, target, max_nodes=max_nodes, max_depth=max_depth)
        found = [path] if path is not None else []
    elif target == TARGET:
        report = graph.all_paths(max_nodes=max_nodes, max_depth=max_depth)
        found = [p for s, p in report.paths.items() if include_system or not graph.is_system(s)]
    else:
        found, report = [], None
        for start in graph.start_nodes():
            if start == target or (not include_system and graph.is_system(start)):
                continue
            path, one = graph.path(start, target, max_nodes=max_nodes, max_depth=max_depth)
            report = _merge_reports(report, one)
            if path is not None:
                found.append(path)
        if report is None:
            _, report = graph.path(target, target, max_nodes=max_nodes, max_depth=max_depth)
    found.sort(key=lambda p: (p.length, p.start))
    if fmt == "json":
        click.echo(dumps(paths_json(found, graph, report, target)), nl=False)
    elif fmt == "dot":
        click.echo(paths_dot(found, graph), nl=False)
    elif fmt == "mermaid":
        click.echo(paths_mermaid(found, graph), nl=False)
    else:
        click.echo(paths_text(found, graph, report, target), nl=False)
    if report.bound_note and fmt in ("dot", "mermaid"):
        click.echo(f"kube-auditor: note: {report.bound_note}", err=True)


def _merge_reports(total, one):
    if total is None:
        return one
    total.nodes = max(total.nodes, one.nodes)
    total.edges += one.edges
    total.node_bound_hit |= one.node_bound_hit
    total.depth_bound_hit |= one.depth_bound_hit
    return total
