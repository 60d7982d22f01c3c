"""What ``scan``, ``snapshot`` and ``rbac`` share to read a live cluster.

The options (``--cluster``, ``--context``, ``--kubeconfig``, ``-n``), a progress line on a
terminal while lists arrive, and the glue from :class:`~auditor.inventory.live.LiveInventory`
to the pipeline: an inventory, notices for what was not read, and the source name reports
cite. Reading a cluster, and recognising a snapshot file, live in
:mod:`auditor.inventory.live` and :mod:`auditor.inventory.snapshot`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable

import click

from ..analysis.rbac.builtin import BuiltinRBAC
from ..engine.notices import Notice
from ..inventory import Inventory
from ..inventory.live import RBAC_RESOURCES, LiveInventory, load_cluster
from ..inventory.snapshot import SnapshotHeader, read_header
from ..inventory.sources import STDIN

#: The notice category of everything about reading a cluster (or a snapshot of one).
NOTICE_CATEGORY = "cluster"

__all__ = [
    "NOTICE_CATEGORY", "RBAC_RESOURCES", "TerminalProgress", "check_flags", "cluster_options",
    "echo_unread", "live_inventory", "live_notices", "own_roles", "read_live",
    "snapshot_headers", "snapshot_notices",
]


def cluster_options(namespaces: bool = True):
    """``--cluster``, ``--context``, ``--kubeconfig`` and (optionally) ``-n/--namespace``."""

    def decorate(func):
        options = [
            click.option(
                "--cluster", is_flag=True,
                help="Read the live cluster (kubeconfig's current context, or in-cluster in a pod).",
            ),
            click.option("--context", default=None, help="Kubeconfig context to use (with --cluster)."),
            click.option(
                "--kubeconfig", default=None, type=click.Path(dir_okay=False),
                help="Kubeconfig file (with --cluster; default $KUBECONFIG or ~/.kube/config).",
            ),
        ]
        if namespaces:
            options.append(
                click.option(
                    "-n", "--namespace", "namespaces", multiple=True,
                    help="Read namespaced objects only in this namespace (repeatable; with --cluster).",
                )
            )
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


def check_flags(cluster: bool, context: str | None, kubeconfig: str | None, namespaces: Iterable[str] = ()) -> None:
    """``--context``, ``--kubeconfig`` and ``-n`` only make sense with ``--cluster``."""
    if cluster:
        return
    for flag, value in (("--context", context), ("--kubeconfig", kubeconfig), ("-n/--namespace", tuple(namespaces))):
        if value:
            raise click.UsageError(f"{flag} reads a live cluster: add --cluster")


class TerminalProgress:
    """``reading pods: 1,500`` on one rewritten stderr line, only when stderr is a terminal."""

    INTERVAL = 0.1

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last = 0.0
        self._shown = False

    def __call__(self, resource: str, count: int) -> None:
        now = time.monotonic()
        if not self.enabled or now - self._last < self.INTERVAL:
            return
        self._last = now
        self.stream.write(f"\r\x1b[Kkube-auditor: reading {resource}: {count:,}")
        self.stream.flush()
        self._shown = True

    def done(self) -> None:
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def read_live(
    kubeconfig: str | None,
    context: str | None,
    namespaces: Iterable[str] = (),
    resources: Iterable[str] | None = None,
) -> LiveInventory:
    """Read the cluster, with a progress line on a terminal."""
    progress = TerminalProgress()
    try:
        return load_cluster(kubeconfig, context, tuple(namespaces), resources, progress=progress)
    finally:
        progress.done()


def live_notices(live: LiveInventory) -> list[Notice]:
    """One notice per kind not read (with the missing permission) and per other problem."""
    return [Notice(NOTICE_CATEGORY, message, live.source) for message in live.messages()]


def live_inventory(live: LiveInventory) -> Inventory:
    return Inventory.from_objects(live.objects)


def snapshot_headers(paths: Iterable[str]) -> list[SnapshotHeader]:
    """The snapshot files among the paths named on the command line."""
    found = []
    for path in paths:
        if path == STDIN:
            continue
        header = read_header(path)
        if header is not None:
            found.append(header)
    return found


def snapshot_notices(headers: Iterable[SnapshotHeader]) -> list[Notice]:
    """What each snapshot says was not readable when it was taken."""
    return [
        Notice(NOTICE_CATEGORY, f"when the snapshot was taken: {message}", header.path)
        for header in headers
        for message in header.not_read
    ]


def echo_unread(live: LiveInventory) -> None:
    """Warn on stderr about what was not read (commands without a report)."""
    for message in live.messages():
        click.echo(f"kube-auditor: warning: {message}", err=True)


class _OwnRoles(BuiltinRBAC):
    """No bundled roles merged, because the input is a cluster (or a snapshot) with its own."""

    @property
    def status(self) -> str:
        return f"not merged: {self.path} holds the cluster's own built-in roles"


def own_roles(origin: str) -> BuiltinRBAC:
    """The built-in set to use for a live cluster or a snapshot: none merged, and why."""
    from pathlib import Path

    return _OwnRoles(Path(origin), enabled=False)
