"""Where a command's objects come from: manifests, charts, the workshop, or a live cluster.

``scan``, ``threats``, ``pss``, ``netpol``, ``psp``, ``rbac`` and ``remediate`` all work on
a set of objects, and an analyst asks them of a repository and of a running cluster alike.
So they read their input one way (:meth:`Inputs.read`): PATH... (files, directories,
``-``; Helm charts among them rendered), ``--workshop``, ``scan``'s ``--helm`` and
``--kustomize``, or ``--cluster`` with ``--context``/``--kubeconfig``/``-n``. The analysis
commands declare these options with :func:`input_options`. A live cluster, or a snapshot
of one, holds its own built-in RBAC roles; :class:`Loaded` says so, and its
:meth:`~Loaded.builtin_rbac` and :meth:`~Loaded.keep_own_roles` then merge none of the
bundled ones.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import click

from ..analysis.rbac import load_builtin
from ..analysis.rbac.builtin import BuiltinRBAC
from ..engine.notices import Notice
from ..inventory import Inventory, LoadOptions, ParseLimits
from ..pipeline import ScanOptions, inventory_from_load
from ..render import (
    DEFAULT_RELEASE,
    HelmOptions,
    LoadedInputs,
    RenderOptions,
    annotate_origins,
    load_inputs,
)
from ..resources import workshop_dir
from . import display_path, live_source, parse_size


@dataclass
class Loaded:
    """The objects read, what the reading noticed, and where they came from."""

    inventory: Inventory
    notices: list[Notice]
    #: the files read, or the cluster's source name (``cluster:CONTEXT``)
    files: list[str]
    #: the cluster or snapshot whose own built-in RBAC roles the input holds; None for manifests
    own_roles: str | None = None
    #: what was read, as given: the paths on the command line, or the cluster's source name
    given: list[str] = field(default_factory=list)
    #: charts and kustomizations among the input, and where their objects were rendered
    rendered: LoadedInputs | None = None

    def keep_own_roles(self, options: ScanOptions) -> None:
        """A cluster (or a snapshot of one) holds its own built-in RBAC roles: a scan of it
        merges none of the bundled ones."""
        if self.own_roles is not None:
            options.settings.extra["rbac.builtin"] = False

    def locate_rendered(self, findings: list) -> None:
        """Point findings on rendered objects at the tool output they came from too."""
        if self.rendered is not None:
            annotate_origins(findings, self.rendered)

    def builtin_rbac(self, enabled: bool = True, path: Path | None = None) -> BuiltinRBAC:
        """The built-in roles to merge: the bundled ones for manifests, none for a cluster."""
        if self.own_roles is not None:
            return live_source.own_roles(self.own_roles)
        return load_builtin(path, enabled=enabled)

    def echo_notices(self) -> None:
        """Warn on stderr about skipped documents and unread kinds (commands without a report)."""
        for notice in self.notices:
            click.echo(f"kube-auditor: warning: {notice}", err=True)


@dataclass
class Inputs:
    """The input options of one command invocation."""

    paths: list[str]
    workshop: bool = False
    cluster: bool = False
    context: str | None = None
    kubeconfig: str | None = None
    namespaces: tuple[str, ...] = ()
    default_namespace: str = "default"
    max_file_size: str = "50MB"
    strict: bool = False
    #: what the usage error lists when nothing is given
    hint: str = "give PATH... to read, - for stdin, --cluster, or --workshop for the bundled demo"
    #: ``scan --helm`` and ``--kustomize``: rendered besides the paths
    helm_charts: tuple[str, ...] = ()
    kustomizations: tuple[str, ...] = ()
    #: how charts and kustomizations are rendered (None: charts' default values, for ``namespace``)
    render: RenderOptions | None = None

    def read(self, resources: Iterable[str] | None = None) -> Loaded:
        """Read the objects; ``resources`` narrows what a cluster is asked for (None: all).

        Usage errors (``--context`` without ``--cluster``, PATH with ``--cluster``, nothing
        to read) exit 2 through click; unreadable input raises the pipeline's errors.
        """
        inputs = list(self.paths)
        if self.workshop:
            inputs.append(display_path(workshop_dir()))
        live_source.check_flags(
            self.cluster, self.context, self.kubeconfig, self.namespaces, namespace_without_cluster=True
        )
        if self.cluster:
            if inputs or self.helm_charts or self.kustomizations:
                raise click.UsageError("--cluster reads the cluster: give no PATH (or read a snapshot file instead)")
            live = live_source.read_live(self.kubeconfig, self.context, self.namespaces, resources)
            return Loaded(
                live_source.live_inventory(live), live_source.live_notices(live), [live.source],
                live.source, [live.source],
            )
        if not (inputs or self.helm_charts or self.kustomizations):
            raise click.UsageError(self.hint)
        options = self.scan_options()
        render = self.render or RenderOptions(helm=HelmOptions(namespace=self.namespace))
        # chart directories among (or below) the paths are rendered, as --helm charts are
        rendered = load_inputs(inputs, self.helm_charts, self.kustomizations, render, options.load)
        helm = render.helm
        if not rendered.charts and (helm.values or helm.set_values or helm.release != DEFAULT_RELEASE):
            raise click.UsageError(
                "--values, --set and --release need a Helm chart: --helm CHART_DIR, or a chart "
                "directory (with Chart.yaml) as PATH"
            )
        inventory, notices, files = inventory_from_load(rendered.load_result(), options)
        snapshots = live_source.snapshot_headers(inputs)
        notices.extend(live_source.snapshot_notices(snapshots))
        own_roles = snapshots[0].path if snapshots else None
        return Loaded(inventory, notices, files, own_roles, inputs, rendered)

    @property
    def namespace(self) -> str:
        """The namespace of objects that name none: a single ``-n`` for files, as ``kubectl apply -n``."""
        if self.namespaces and not self.cluster:
            return self.namespaces[0]
        return self.default_namespace

    def scan_options(self) -> ScanOptions:
        """Pipeline options for reading these inputs (no rules: see ``scan_settings``)."""
        return ScanOptions(
            default_namespace=self.namespace,
            strict=self.strict,
            load=LoadOptions(max_file_bytes=parse_size(self.max_file_size), limits=ParseLimits()),
        )


def input_options(
    *,
    paths_argument: bool = True,
    namespaces: bool = True,
    strict: bool = False,
    hint: str | None = None,
):
    """Add the input options to a command, which receives them as one ``inputs`` argument.

    ``paths_argument=False`` when the command declares its own ``paths`` argument (after
    other arguments, as ``rbac who-can VERB RESOURCE [PATH...]``); ``namespaces=False`` when
    ``-n`` means something else there (the request's namespace in ``rbac``).
    """

    def decorate(command):
        @functools.wraps(command)
        def with_inputs(*args, **kwargs):
            inputs = Inputs(
                paths=list(kwargs.pop("paths", ())),
                workshop=kwargs.pop("workshop"),
                cluster=kwargs.pop("cluster"),
                context=kwargs.pop("context"),
                kubeconfig=kwargs.pop("kubeconfig"),
                namespaces=tuple(kwargs.pop("namespaces", ()) if namespaces else ()),
                default_namespace=kwargs.pop("default_namespace"),
                max_file_size=kwargs.pop("max_file_size"),
                strict=kwargs.pop("strict", False) if strict else False,
            )
            if hint is not None:
                inputs.hint = hint
            return command(*args, inputs=inputs, **kwargs)

        options = [
            click.option("--workshop", is_flag=True, help="Read the bundled workshop scenario (a demo cluster)."),
            live_source.cluster_options(namespaces=namespaces),
            click.option("--default-namespace", default="default", show_default=True, help="Namespace for namespaced objects that name none."),
            click.option("--max-file-size", default="50MB", show_default=True, help="Refuse input files larger than this."),
        ]
        if strict:
            options.append(click.option("--strict", is_flag=True, help="Treat input warnings (skipped documents) as errors."))
        if paths_argument:
            options.insert(0, click.argument("paths", nargs=-1))
        for option in reversed(options):
            with_inputs = option(with_inputs)
        return with_inputs

    return decorate


__all__ = ["Inputs", "Loaded", "input_options"]
