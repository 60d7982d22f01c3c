"""Serving the webhook over HTTPS with uvicorn.

uvicorn provides the HTTP/1.1 server, keep-alive handling, the connection limit (503
beyond it) and graceful shutdown on SIGTERM. Two things are added here:

* a **request deadline** against slow clients (slowloris): uvicorn times out idle
  keep-alive connections, but a client that trickles the bytes of a request's headers
  keeps its connection forever. :func:`guarded_protocol` closes a connection whose next
  request's headers have not all arrived within ``server.requestTimeoutSeconds`` of its
  first byte, or are over 64 KiB; the body has the same deadline in the application
  (400). A TLS handshake that does not finish is dropped after 60 s.
* **certificate reloading**: a background task checks the certificate and key files
  every ``tls.reloadIntervalSeconds`` and swaps a changed pair into the live TLS context.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from pathlib import Path

import uvicorn

try:  # llhttp, in C: several times cheaper per request than the pure-Python h11
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _BaseProtocol
except ImportError:  # pragma: no cover - httptools is a dependency
    from uvicorn.protocols.http.h11_impl import H11Protocol as _BaseProtocol

from .app import WebhookApp
from .config import WebhookConfig
from .decide import Admission
from .logs import get_logger
from .metrics import Metrics
from .scope import POD_KINDS
from .tls import CertificateReloader, TLSError, server_context

#: Request line and headers larger than this close the connection (h11's own limit).
MAX_HEADER_BYTES = 64 * 1024


def guarded_protocol(request_timeout: float, max_header_bytes: int = MAX_HEADER_BYTES) -> type:
    """uvicorn's HTTP protocol with a deadline on receiving each request's headers, and a
    bound on their size."""

    class GuardedProtocol(_BaseProtocol):
        _request_timer: asyncio.TimerHandle | None = None
        _header_bytes = 0

        def _between_requests(self) -> bool:
            return self.cycle is None or self.cycle.response_complete

        def data_received(self, data: bytes) -> None:
            waiting = self._between_requests()
            if waiting:
                self._header_bytes += len(data)
                if self._request_timer is None:
                    self._request_timer = self.loop.call_later(request_timeout, self._request_timed_out)
            super().data_received(data)
            if waiting and self._between_requests() and self._header_bytes > max_header_bytes:
                self.transport.abort()  # still no complete request line and headers

        def _request_timed_out(self) -> None:
            self._request_timer = None
            if self._between_requests() and not self.transport.is_closing():
                # The headers of a request began arriving and did not finish in time: drop
                # the connection at once (a TLS close would wait for the client).
                self.transport.abort()

        def on_response_complete(self) -> None:
            self._header_bytes = 0
            if self._request_timer is not None:
                self._request_timer.cancel()
                self._request_timer = None
            super().on_response_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            if self._request_timer is not None:
                self._request_timer.cancel()
                self._request_timer = None
            super().connection_lost(exc)

    return GuardedProtocol


@dataclass
class Serving:
    """What :func:`build_server` made: the uvicorn server and its parts (for tests)."""

    server: uvicorn.Server
    app: WebhookApp
    context: ssl.SSLContext
    reloader: CertificateReloader


def build_server(
    config: WebhookConfig,
    cert_file: Path,
    key_file: Path,
    *,
    host: str | None = None,
    port: int | None = None,
    admission: Admission | None = None,
) -> Serving:
    """Everything needed to serve ``config``, built and checked but not started."""
    log = get_logger()
    context = server_context(cert_file, key_file, config.tls.min_version)
    reloader = CertificateReloader(context, cert_file, key_file, config.tls.min_version)
    metrics = Metrics()
    if reloader.current.not_after is not None:
        metrics.cert_expiry.set(reloader.current.not_after.timestamp())
    interval = config.tls.reload_interval_seconds

    async def watch_certificate() -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                if reloader.check():
                    metrics.cert_reloads.labels("ok").inc()
                    not_after = reloader.current.not_after
                    if not_after is not None:
                        metrics.cert_expiry.set(not_after.timestamp())
                    log.info("serving certificate reloaded", extra={
                        "event": "cert_reload", "notAfter": not_after.isoformat() if not_after else None,
                    })
            except TLSError as error:
                metrics.cert_reloads.labels("error").inc()
                log.warning("certificate files changed but cannot be used yet; keeping the current pair",
                            extra={"event": "cert_reload", "error": str(error)})

    admission = admission or Admission(config)
    admission.warm_up(sorted(POD_KINDS) + ["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding",
                                          "NetworkPolicy", "Namespace", "Service", "Ingress"])
    app = WebhookApp(admission, config, metrics, background=[watch_certificate])
    server_settings = config.server
    uv_config = uvicorn.Config(
        app,
        host=host or server_settings.host,
        port=port if port is not None else server_settings.port,
        http=guarded_protocol(server_settings.request_timeout_seconds),
        ws="none",
        lifespan="on",
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_keep_alive=server_settings.keep_alive_seconds,
        timeout_graceful_shutdown=max(1, config.timeout_seconds),
        limit_concurrency=server_settings.max_connections,
        ssl_context_factory=lambda _config, _default: context,
    )
    log.info(
        "webhook configured",
        extra={
            "event": "start", "mode": config.mode, "threshold": admission.threshold.value,
            "rulesLoaded": len(admission.rules), "rulesSkipped": len(admission.skipped),
            "port": uv_config.port,
        },
    )
    return Serving(uvicorn.Server(uv_config), app, context, reloader)
