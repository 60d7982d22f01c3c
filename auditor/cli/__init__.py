"""The ``kube-auditor`` command line: thin click commands over the library.

Commands live in sibling modules (one per area: scan, rbac, netpol, …), each registering
on :data:`main`; this module holds the group and what every command shares.

Each command parses options, calls one pipeline function and renders its result. Every
expected failure (bad input, bad rule pack, bad config) is one line on stderr and exit code
2; findings at or above ``--fail-on`` give exit code 1; otherwise 0. No traceback reaches a
user unless ``KUBE_AUDITOR_DEBUG=1`` is set.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn

import click

from .. import __version__
from ..engine.baseline import BaselineError
from ..engine.config import ConfigError
from ..engine.rules import RulePackError
from ..inventory import InputError
from ..threat import Severity

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
FAIL_ON_CHOICES = ["critical", "high", "medium", "low", "info", "none"]
KNOWN_ERRORS = (InputError, RulePackError, ConfigError, BaselineError)


def fail(message: str) -> NoReturn:
    """Print a one-line error and exit 2."""
    click.echo(f"kube-auditor: error: {message}", err=True)
    sys.exit(EXIT_ERROR)


def severity_or_none(value: str) -> Severity | None:
    return None if value == "none" else Severity(value)


def use_color(no_color: bool, output: str | None) -> bool:
    if no_color or output or os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


def display_path(path: Path) -> str:
    """A path relative to the working directory when it is below it (shorter in reports)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def parse_size(value: str) -> int:
    """Parse ``50MB``, ``512k``, ``1048576`` into bytes."""
    text = value.strip().lower().removesuffix("b")
    factor = 1
    for suffix, multiple in (("k", 1024), ("m", 1024**2), ("g", 1024**3)):
        if text.endswith(suffix):
            text, factor = text[:-1], multiple
            break
    try:
        number = float(text)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a size such as 50MB") from None
    if number <= 0:
        raise click.BadParameter("the size must be positive")
    return int(number * factor)


class _Group(click.Group):
    """Turns unexpected exceptions into one line (a traceback only with KUBE_AUDITOR_DEBUG)."""

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except KNOWN_ERRORS as error:
            fail(str(error))
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            click.echo("kube-auditor: interrupted", err=True)
            sys.exit(130)
        except BrokenPipeError:  # the reader went away (kube-auditor scan ... | head): no error
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush is quiet
            sys.exit(141)  # 128 + SIGPIPE, as a shell reports it
        except OSError as error:  # input is read through InputError: this is a file we write
            where = f"{error.filename}: " if error.filename else ""
            fail(f"{where}{error.strerror or error}")
        except Exception as error:  # noqa: BLE001 - the last line of defence
            if os.environ.get("KUBE_AUDITOR_DEBUG"):
                raise
            fail(
                f"internal error: {type(error).__name__}: {error} "
                "(set KUBE_AUDITOR_DEBUG=1 for a traceback and please report it)"
            )


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="kube-auditor")
def main() -> None:
    """Audit Kubernetes RBAC, NetworkPolicy and Pod Security against a STRIDE / 4C threat model.

    \b
    Exit codes: 0 no finding at or above --fail-on; 1 findings at or above it;
    2 usage or input error.
    """


def policy_option(func):
    return click.option(
        "--policy",
        "policy_dirs",
        multiple=True,
        type=click.Path(path_type=Path),
        help="Extra rule pack file or directory (repeatable).",
    )(func)


def _register_commands() -> None:
    """Import the command modules; each adds its commands to :data:`main`."""
    # one import per command module; each registers its commands on `main`
    from . import (  # noqa: F401
        diff_commands,
        export_commands,
        netpol_commands,
        psp_commands,
        pss_commands,
        rbac_commands,
        remediate_commands,
        scan_commands,
        snapshot_commands,
        threats_commands,
        webhook_commands,
    )


_register_commands()
