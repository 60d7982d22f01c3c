"""``netpol list``, ``netpol reach`` and ``netpol matrix``: NetworkPolicy questions.

Exit codes: ``list`` and ``matrix`` 0 (2 on input errors); ``reach`` 0 when the connection
is allowed, 1 when it is denied (for a CIDR: denied for some part of it), 2 on errors
(unknown workload, bad CIDR or port, unreadable input).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..analysis.netpol import analyze
from ..analysis.netpol.engine import Engine
from ..analysis.netpol.explain import reach
from ..analysis.netpol.ipranges import CIDRError, parse_cidr
from ..analysis.netpol.model import Workload
from ..analysis.netpol.render import LIST_FORMATS, MATRIX_FORMATS, render_list, render_matrix
from . import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, fail, main
from .inputs import Inputs, input_options


def _input_options(func):
    func = click.option("-q", "--quiet", is_flag=True, help="Do not print input and policy warnings on stderr.")(func)
    return input_options(strict=True)(func)


def _engine(inputs: Inputs, quiet: bool) -> Engine:
    loaded = inputs.read()
    engine = analyze(loaded.inventory)
    if not quiet:
        loaded.echo_notices()
        for note in engine.model.notes:
            where = note.resource.display if note.resource is not None else "input"
            click.echo(f"kube-auditor: warning: {where}: {note.message}", err=True)
    return engine


def _write(text: str, output: str | None) -> None:
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)


@main.group("netpol")
def netpol() -> None:
    """NetworkPolicy analysis: allowed connections, single questions, summaries.

    \b
    Examples:
      kube-auditor netpol list k8s/
      kube-auditor netpol list --format dot k8s/ | dot -Tsvg > netpol.svg
      kube-auditor netpol reach --from shop/frontend --to shop/backend --port 8080 k8s/
      kube-auditor netpol reach --from shop/backend --to 0.0.0.0/0 k8s/
      kube-auditor netpol matrix k8s/
      kube-auditor netpol reach --cluster --from shop/web --to 10.0.0.0/8
    """


@netpol.command("list")
@_input_options
@click.option("--format", "fmt", type=click.Choice(LIST_FORMATS), default="txt", show_default=True)
@click.option("--exposure", is_flag=True, help="Add the exposure analysis: unprotected workloads, and who could reach the others (txt, json).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to FILE.")
def list_command(inputs, quiet, fmt, exposure, output) -> None:
    """List every allowed connection between workloads and external IP ranges.

    One line per ordered pair: SRC => DST : CONNS, where a workload is ns/name[Kind], an
    external range a.b.c.d-e.f.g.h[External], and {ingress-controller} the cluster's
    ingress controller sending traffic of Ingress and Route objects. CONNS is
    "All Connections" or protocol groups such as "TCP 80,8080-8090,UDP 53".
    """
    if exposure and fmt not in ("txt", "json"):
        raise click.UsageError("--exposure works with --format txt or json")
    engine = _engine(inputs, quiet)
    _write(render_list(engine, fmt, exposure), output)
    sys.exit(EXIT_OK)


def _endpoint(engine: Engine, text: str, what: str) -> Workload | tuple[int, int, int]:
    """A workload (``ns/name``, ``ns/name[Kind]``, or a name unique in the input), or an
    IP address or CIDR."""
    value = text.strip()
    matches = engine.model.find_workload(value)
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        fail(f"{what} {text!r} is ambiguous: {', '.join(w.display for w in matches)}")
    try:
        return parse_cidr(value)
    except CIDRError:
        pass
    address_like = any(ch in value for ch in ".:") and all(
        ch in "0123456789abcdefABCDEF.:/" for ch in value
    )
    if address_like:
        fail(f"{what}: {text!r} is not a valid IP address or CIDR")
    fail(f"{what}: no workload {text!r} in the input (use NS/NAME, NS/NAME[Kind], an IP or a CIDR)")
    raise AssertionError  # fail() exits


@netpol.command("reach")
@_input_options
@click.option("--from", "source", required=True, help="Source: NS/NAME[Kind], an IP or a CIDR.")
@click.option("--to", "target", required=True, help="Destination: NS/NAME[Kind], an IP or a CIDR.")
@click.option("--port", help="Port number, or a container port name of the destination.")
@click.option("--protocol", type=click.Choice(["TCP", "UDP", "SCTP"], case_sensitive=False), help="Protocol (default TCP when --port is given).")
@click.option("--format", "fmt", type=click.Choice(["txt", "json"]), default="txt", show_default=True)
def reach_command(inputs, quiet, source, target, port, protocol, fmt) -> None:
    """Is a connection allowed, and by which policies and rules (or why not)?

    \b
    Exit codes: 0 allowed; 1 denied (for a CIDR: denied for some of its
    addresses); 2 error (unknown workload, bad address, bad port).
    """
    engine = _engine(inputs, quiet)
    src = _endpoint(engine, source, "--from")
    dst = _endpoint(engine, target, "--to")
    if isinstance(src, tuple) and isinstance(dst, tuple):
        fail("--from and --to are both addresses: NetworkPolicy governs traffic of pods; name a workload on one side")
    number: int | None = None
    if port is not None:
        if port.isdigit():
            number = int(port)
            if not 1 <= number <= 65535:
                fail(f"--port {port}: outside 1-65535")
        else:
            if not isinstance(dst, Workload):
                fail(f"--port {port!r}: a port name needs a workload destination")
            named = dst.named_port(port)
            if named is None:
                fail(f"--port {port!r}: {dst.display} has no container port of that name")
            number = named.number
            protocol = protocol or named.protocol
    answer = reach(engine, src, dst, protocol, number)
    if fmt == "json":
        click.echo(json.dumps(answer.to_dict(), indent=2))
    else:
        click.echo(answer.text(), nl=False)
    sys.exit(EXIT_OK if answer.allowed else EXIT_FINDINGS)


@netpol.command("matrix")
@_input_options
@click.option("--format", "fmt", type=click.Choice(MATRIX_FORMATS), default="txt", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to FILE.")
def matrix_command(inputs, quiet, fmt, output) -> None:
    """Namespace-to-namespace summary of what the policies allow.

    A cell reads "all" (every workload pair may connect on every port), "none", or
    "k/n" (k of the n ordered workload pairs may connect on some port). The [External]
    row and column count workloads reachable from, or reaching, some external address.
    """
    engine = _engine(inputs, quiet)
    _write(render_matrix(engine, fmt), output)
    sys.exit(EXIT_OK)


__all__ = ["EXIT_ERROR", "netpol"]
