"""``webhook serve``, ``webhook manifests`` and ``webhook rules``: the admission webhook."""

from __future__ import annotations

import signal
import sys
import tempfile
from pathlib import Path

import click

from ..webhook.config import WebhookConfig, load_webhook_config
from . import fail, main


@main.group()
def webhook() -> None:
    """Enforce the scan's rules at the API server, as a validating admission webhook."""


def _config(path: Path | None) -> WebhookConfig:
    return load_webhook_config(path) if path else WebhookConfig()


@webhook.command()
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="Webhook configuration file (YAML).")
@click.option("--self-signed", is_flag=True, help="Generate a development CA and serving certificate; print the caBundle.")
@click.option("--cert-dir", type=click.Path(path_type=Path), help="Where --self-signed writes ca.crt, tls.crt and tls.key (default: a temporary directory).")
@click.option("--san", "sans", multiple=True, help="Extra DNS name for the --self-signed certificate (repeatable).")
@click.option("--host", default=None, help="Address to listen on (default: the config's server.host, 0.0.0.0).")
@click.option("--port", type=int, default=None, help="Port to listen on (default: the config's server.port, 8443).")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="info", show_default=True)
def serve(
    config_path: Path | None,
    self_signed: bool,
    cert_dir: Path | None,
    sans: tuple[str, ...],
    host: str | None,
    port: int | None,
    log_level: str,
) -> None:
    """Serve /validate (and /mutate), /healthz, /readyz and /metrics over HTTPS.

    \b
    Examples:
      kube-auditor webhook serve --config /etc/kube-auditor/config/config.yaml
      kube-auditor webhook serve --self-signed --port 9443      # development
    """
    from ..webhook import logs
    from ..webhook.manifests import ca_bundle_from_pem
    from ..webhook.server import build_server
    from ..webhook.tls import TLSError
    from ..webhook.tls import self_signed as make_self_signed

    logs.configure(log_level)
    config = _config(config_path)
    if self_signed:
        directory = cert_dir or Path(tempfile.mkdtemp(prefix="kube-auditor-webhook-"))
        names = ["localhost", "kube-auditor-webhook", *sans]
        generated = make_self_signed(directory, names)
        cert_file, key_file = generated.cert_file, generated.key_file
        # stdout carries the caBundle alone, for scripts; the explanation goes to stderr.
        click.echo(ca_bundle_from_pem(generated.ca_pem))
        sys.stdout.flush()
        click.echo(
            f"kube-auditor: development certificate for {', '.join(names)} and 127.0.0.1 in "
            f"{directory}; the line above is the caBundle for the webhook configuration",
            err=True,
        )
    else:
        cert_file, key_file = config.tls_paths()
        if cert_file is None or key_file is None:
            fail("give tls.certFile and tls.keyFile in --config, or --self-signed for development")
    try:
        serving = build_server(config, cert_file, key_file, host=host, port=port)
    except TLSError as error:
        fail(str(error))
    # uvicorn drains connections on SIGTERM, then re-raises the signal: end with 0 then,
    # as a graceful stop should, instead of dying by the signal.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    serving.server.run()


@webhook.command()
@click.option("--namespace", "-n", required=True, help="Namespace to run the webhook in.")
@click.option("--image", required=True, help="kube-auditor container image (pin it by digest).")
@click.option("--mode", type=click.Choice(["enforce", "warn", "audit"]), default="enforce", show_default=True)
@click.option("--replicas", type=click.IntRange(min=2), default=2, show_default=True, help="Pods serving the webhook (at least 2).")
@click.option("--name", default="kube-auditor-webhook", show_default=True, help="Name of every object.")
@click.option("--threshold", type=click.Choice(["critical", "high", "medium", "low", "info"]), default="high", show_default=True)
@click.option("--failure-policy", type=click.Choice(["Fail", "Ignore"]), default="Fail", show_default=True)
@click.option("--timeout-seconds", type=click.IntRange(1, 30), default=5, show_default=True)
@click.option("--tls-secret", default=None, help="Secret holding tls.crt and tls.key (default: NAME-tls).")
@click.option("--ca-bundle-file", type=click.Path(path_type=Path, dir_okay=False), help="PEM CA that signed the serving certificate.")
@click.option("--cert-manager", is_flag=True, help="Issue the certificate with cert-manager and let it inject the caBundle.")
@click.option("--mutate", is_flag=True, help="Also register /mutate (safe defaults) as a mutating webhook.")
@click.option("--apiserver-cidr", "apiserver_cidrs", multiple=True, help="Address range of the API servers, for the NetworkPolicy (repeatable).")
def manifests(
    namespace: str, image: str, mode: str, replicas: int, name: str, threshold: str,
    failure_policy: str, timeout_seconds: int, tls_secret: str | None, ca_bundle_file: Path | None,
    cert_manager: bool, mutate: bool, apiserver_cidrs: tuple[str, ...],
) -> None:
    """Print the webhook's Deployment, Service, NetworkPolicy and webhook configuration.

    \b
    Example:
      kube-auditor webhook manifests -n kube-auditor --image ghcr.io/acme/kube-auditor@sha256:... \\
        --ca-bundle-file ca.crt | kubectl apply -f -
    """
    from ..webhook.manifests import ManifestOptions, ca_bundle_from_pem, render_yaml
    from ..webhook.manifests import manifests as build

    ca_bundle = None
    if ca_bundle_file is not None:
        try:
            ca_bundle = ca_bundle_from_pem(ca_bundle_file.read_bytes())
        except OSError as error:
            fail(f"{ca_bundle_file}: {error.strerror or error}")
    options = ManifestOptions(
        namespace=namespace, image=image, mode=mode, replicas=replicas, name=name,
        threshold=threshold, failure_policy=failure_policy, timeout_seconds=timeout_seconds,
        tls_secret=tls_secret, ca_bundle=ca_bundle, mutate=mutate,
        apiserver_cidrs=list(apiserver_cidrs), cert_manager=cert_manager,
    )
    click.echo(render_yaml(build(options)), nl=False)


@webhook.command("rules")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="Webhook configuration file (YAML).")
def rules_command(config_path: Path | None) -> None:
    """List the rules evaluated at admission, and those skipped with the reason."""
    from ..webhook.decide import Admission

    admission = Admission(_config(config_path))
    for rule in sorted(admission.rules, key=lambda r: r.id):
        click.echo(f"{rule.id}\tadmission\t{rule.severity.value}\t{rule.title}")
    for rule, why in sorted(admission.skipped, key=lambda item: item[0].id):
        click.echo(f"{rule.id}\tskipped\t{rule.severity.value}\t{why}")
