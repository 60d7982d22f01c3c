"""``snapshot``: a live cluster's inventory written to a YAML file for offline audits."""

from __future__ import annotations

import sys

import click

from ..inventory import snapshot as snapshots
from . import EXIT_OK, live_source, main


@main.command()
@live_source.cluster_options()
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False, allow_dash=True),
    help="Write the snapshot to FILE (- for stdout).",
)
def snapshot(cluster: bool, context: str | None, kubeconfig: str | None, namespaces: tuple[str, ...], output: str) -> None:
    """Write a live cluster's inventory (what a scan reads) to a YAML file.

    The file starts with a comment naming the cluster, the server version, the time and
    what could not be read; scanning it later gives the findings a live scan gives.
    Secrets are recorded as metadata only.

    \b
    Examples:
      kube-auditor snapshot --cluster -o cluster.yaml
      kube-auditor snapshot --cluster --context prod -n shop -n web -o shop.yaml
      kube-auditor scan cluster.yaml
    """
    live_source.check_flags(cluster, context, kubeconfig, namespaces)
    if not cluster:
        raise click.UsageError("snapshot reads a live cluster: add --cluster")
    live = live_source.read_live(kubeconfig, context, namespaces)
    live_source.echo_unread(live)
    text = snapshots.render(live)
    if output == "-":
        click.echo(text, nl=False)
    else:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
        click.echo(
            f"kube-auditor: wrote {len(live.objects):,} objects from {live.source} "
            f"({live.version}) to {output} in {live.seconds:.1f}s",
            err=True,
        )
    sys.exit(EXIT_OK)
