"""The webhook's ASGI application: a handful of endpoints, no framework.

=============  ======  ==============================================================
``/validate``  POST    admission.k8s.io/v1 AdmissionReview → decision (the rules)
``/mutate``    POST    AdmissionReview → JSONPatch of safe defaults (when enabled)
``/healthz``   GET     liveness: the event loop answers
``/readyz``    GET     readiness: rules loaded, serving, not shutting down
``/metrics``   GET     Prometheus text format
=============  ======  ==============================================================

Bad input is answered with 400 and a JSON ``{"error": ...}`` body naming the problem: a
body that is not a v1 AdmissionReview, a body over the size limit, a body that does not
arrive within the request deadline (the ``reason`` label of the refusal metric and log
tells them apart: ``invalid``, ``too_large``, ``slow_body``). One status for every bad
request keeps the contract simple for clients and alerting; the message says what was
wrong. Evaluation runs in a
worker thread under a deadline (``timeouts.evaluationMs``); past it, the configured
outcome (fail open or closed) is returned.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import orjson

from .config import WebhookConfig
from .deadline import AlarmRunner, DeadlineExceeded, ThreadRunner, runner_for
from .decide import Admission, Decision
from .logs import get_logger
from .metrics import Metrics
from .mutate import mutation_patch
from .review import AdmissionRequest, ReviewError, parse_review, response_review, review_uid
from .scope import PROCESS_KINDS

_timeout = getattr(asyncio, "timeout", None)
#: An oversized body is read and dropped up to this many times the limit (see _read_body).
DRAIN_FACTOR = 4
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]

JSON = b"application/json"
TEXT = b"text/plain; charset=utf-8"


class BodyError(Exception):
    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status, self.reason = status, reason


class WebhookApp:
    """ASGI 3 application; one instance per server."""

    def __init__(
        self,
        admission: Admission,
        config: WebhookConfig,
        metrics: Metrics | None = None,
        background: list[Callable[[], Awaitable[None]]] | None = None,
    ) -> None:
        self.admission = admission
        self.config = config
        self.metrics = metrics or Metrics()
        self.log = get_logger()
        self.ready = False
        self.max_body = config.server.max_request_bytes
        self.body_timeout = config.server.request_timeout_seconds
        self.deadline = config.timeouts.evaluation_ms / 1000
        #: how evaluations are time-bounded; chosen at startup, in the event loop's thread
        self.runner: AlarmRunner | ThreadRunner | None = None
        #: the worker processes for RBAC reviews (None: they run here)
        self.processes: ProcessPoolExecutor | None = None
        self._background = background or []
        self._tasks: list[asyncio.Task] = []
        self.metrics.set_info(
            config.mode, admission.threshold.value, len(admission.rules), len(admission.skipped)
        )

    # -- ASGI entry ---------------------------------------------------------------------

    async def __call__(self, scope: dict, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.runner = runner_for(self.deadline, self.config.server.workers, self.config.timeouts.isolation)
                try:
                    await self._start_processes()
                except Exception as error:  # noqa: BLE001 - reported, then the server stops
                    await send({"type": "lifespan.startup.failed", "message": f"worker process: {error}"})
                    return
                for job in self._background:
                    self._tasks.append(asyncio.create_task(job()))
                # Rules, compiled conditions and engines live as long as the server: keep
                # them out of the cyclic collector's way, so a full collection scans only
                # what requests allocate (a pause at the tail of the latency otherwise).
                gc.collect()
                gc.freeze()
                self.ready = True
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.ready = False
                for task in self._tasks:
                    task.cancel()
                if self.runner is not None:
                    self.runner.close()
                if self.processes is not None:
                    self.processes.shutdown(wait=False, cancel_futures=True)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: dict, receive: Receive, send: Send) -> None:
        path, method = scope["path"], scope["method"]
        started = time.perf_counter()
        if path in ("/validate", "/mutate"):
            endpoint = path[1:]
            if method != "POST":
                await self._refuse(send, endpoint, 405, "method", f"{path} takes POST", started)
                return
            await self._review(scope, receive, send, endpoint, started)
            return
        if path in ("/healthz", "/livez", "/readyz", "/metrics") and method not in ("GET", "HEAD"):
            await self._refuse(send, path[1:], 405, "method", f"{path} takes GET", started)
            return
        if path in ("/healthz", "/livez"):
            await _respond(send, 200, b"ok\n", TEXT)
            self.metrics.child(self.metrics.requests, "healthz", "200").inc()
        elif path == "/readyz":
            code = 200 if self.ready else 503
            await _respond(send, code, b"ok\n" if self.ready else b"not ready\n", TEXT)
            self.metrics.child(self.metrics.requests, "readyz", str(code)).inc()
        elif path == "/metrics":
            await _respond(send, 200, self.metrics.render(), self.metrics.content_type.encode())
            self.metrics.child(self.metrics.requests, "metrics", "200").inc()
        else:
            await self._refuse(send, "other", 404, "not_found", "no such endpoint", started)

    async def _refuse(self, send: Send, endpoint: str, status: int, reason: str, message: str,
                      started: float, uid: str | None = None) -> None:
        await _respond(send, status, orjson.dumps({"error": message}), JSON)
        self.metrics.requests.labels(endpoint, str(status)).inc()
        self.metrics.bad_requests.labels(reason).inc()
        self.log.info(
            "request refused",
            extra={"event": "refused", "endpoint": endpoint, "status": status, "reason": reason,
                   "error": message, "uid": uid, "durationMs": _ms(started)},
        )

    # -- admission ----------------------------------------------------------------------

    async def _read_body(self, scope: dict, receive: Receive) -> bytes:
        """The request body, within the size limit and the request deadline.

        An oversized body is still read (and dropped), up to four times the limit: a
        server that answers and closes while the client is sending makes the client's
        TCP stack discard the answer (a reset), and the client sees a broken connection
        instead of the reason."""
        limit = self.max_body
        too_large = False
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    raise BodyError(400, "invalid", "Content-Length is not a number") from None
                if declared > limit * DRAIN_FACTOR:
                    raise BodyError(400, "too_large", f"the body ({declared} bytes) is over the limit of {limit} bytes")
                too_large = declared > limit
        chunks: list[bytes] = []
        size = 0

        async def read() -> None:
            nonlocal size, too_large
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise BodyError(400, "invalid", "the client went away before sending the whole body")
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    too_large = True
                    chunks.clear()
                    if size > limit * DRAIN_FACTOR:
                        return
                elif not too_large:
                    chunks.append(chunk)
                if not message.get("more_body", False):
                    return

        try:
            if _timeout is not None:  # Python 3.11+: a timer on this task, no extra task
                async with _timeout(self.body_timeout):
                    await read()
            else:  # pragma: no cover - Python 3.10
                await asyncio.wait_for(read(), self.body_timeout)
        except (asyncio.TimeoutError, TimeoutError):
            if too_large:
                raise BodyError(400, "too_large", f"the body is over the limit of {limit} bytes") from None
            raise BodyError(400, "slow_body", f"the body did not arrive within {self.body_timeout:g}s") from None
        if too_large:
            raise BodyError(400, "too_large", f"the body ({size} bytes) is over the limit of {limit} bytes")
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def _review(self, scope: dict, receive: Receive, send: Send, endpoint: str, started: float) -> None:
        try:
            body = await self._read_body(scope, receive)
        except BodyError as error:
            await self._refuse(send, endpoint, error.status, error.reason, str(error), started)
            return
        try:
            request = parse_review(body)
        except ReviewError as error:
            await self._refuse(send, endpoint, 400, "invalid", str(error), started, uid=review_uid(body))
            return
        if endpoint == "validate":
            decision = await self._decide(request)
            patch = None
        else:
            decision, patch = self._mutate(request)
        review = response_review(
            request.uid,
            decision.allowed,
            message=decision.message,
            code=403 if decision.reason == "evaluated" else 500,
            warnings=decision.warnings,
            audit_annotations=decision.audit_annotations,
            patch=patch,
        )
        await _respond(send, 200, orjson.dumps(review), JSON)
        elapsed = time.perf_counter() - started
        self._account(endpoint, request, decision, patch, elapsed)

    async def _start_processes(self) -> None:
        count = self.config.server.process_workers
        if count == 0:
            return
        from . import workers

        # spawn: a fresh interpreter, never a fork of a process with threads and a loop
        pool = ProcessPoolExecutor(
            count, mp_context=multiprocessing.get_context("spawn"),
            initializer=workers.initialize, initargs=(self.config,),
        )
        loop = asyncio.get_running_loop()
        for _ in range(count):  # each worker loads the rules before the server is ready
            await loop.run_in_executor(pool, workers.ready)
        self.processes = pool

    async def _in_process(self, request: AdmissionRequest) -> Decision:
        from . import workers

        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        future = loop.run_in_executor(self.processes, workers.decide, request)
        try:
            return await asyncio.wait_for(future, self.deadline)
        except asyncio.TimeoutError:
            raise DeadlineExceeded from None
        finally:
            self.metrics.evaluation.observe(time.perf_counter() - started)

    async def _decide(self, request: AdmissionRequest) -> Decision:
        timeouts = self.config.timeouts
        if self.runner is None:  # served without the ASGI lifespan protocol
            self.runner = runner_for(self.deadline, self.config.server.workers, "thread")
        try:
            if self.processes is not None and request.kind in PROCESS_KINDS:
                early = self.admission.precheck(request)
                return early if early is not None else await self._in_process(request)
            return await self.runner.run(self._timed_decide, request)
        except DeadlineExceeded:
            allowed = timeouts.on_timeout == "allow"
            return Decision(
                allowed,
                "timeout",
                message=None if allowed else (
                    f"kube-auditor could not evaluate this request within {timeouts.evaluation_ms} ms "
                    "and fails closed (timeouts.onTimeout: deny)"
                ),
                warnings=[f"kube-auditor did not evaluate this request within {timeouts.evaluation_ms} ms; admitted (fail open)"]
                if allowed else [],
            )
        except Exception as error:  # noqa: BLE001 - a bug must not become a crash or a 500
            self.log.error(
                "evaluation failed",
                exc_info=True,
                extra={"event": "error", "uid": request.uid, "kind": request.kind, "error": type(error).__name__},
            )
            allowed = timeouts.on_error == "allow"
            return Decision(
                allowed,
                "error",
                message=None if allowed else "kube-auditor failed to evaluate this request and fails closed (timeouts.onError: deny)",
            )

    def _timed_decide(self, request: AdmissionRequest) -> Decision:
        started = time.perf_counter()
        try:
            return self.admission.decide(request)
        finally:
            self.metrics.evaluation.observe(time.perf_counter() - started)

    def _mutate(self, request: AdmissionRequest) -> tuple[Decision, list[dict] | None]:
        settings = self.config.mutation
        if not settings.enabled or request.operation != "CREATE" or request.sub_resource:
            return Decision(True, "operation" if settings.enabled else "disabled"), None
        exempt = self.admission.exemption(request)
        if exempt is not None:
            return Decision(True, "exempt"), None
        try:
            patch = mutation_patch(request.object or {}, settings)
        except Exception as error:  # noqa: BLE001 - never fail a pod creation on a bug here
            self.log.error("mutation failed", exc_info=True,
                           extra={"event": "error", "uid": request.uid, "error": type(error).__name__})
            return Decision(True, "error"), None
        return Decision(True, "evaluated"), patch or None

    def _account(self, endpoint: str, request: AdmissionRequest, decision: Decision,
                 patch: list[dict] | None, elapsed: float) -> None:
        metrics = self.metrics
        metrics.child(metrics.requests, endpoint, "200").inc()
        metrics.child(metrics.latency, endpoint).observe(elapsed)
        metrics.child(
            metrics.admissions, endpoint, request.operation, metrics.kind_label(request.kind),
            "allowed" if decision.allowed else "denied", decision.reason,
        ).inc()
        if endpoint == "validate" and decision.findings:
            mode = self.config.mode
            violating = {id(f) for f in decision.violations}
            action = {"enforce": "deny", "warn": "warn", "audit": "audit"}[mode]
            lesser = "audit" if mode == "audit" else "warn"
            warn_at = self.admission.warn_threshold
            for finding in decision.findings:
                if id(finding) in violating:
                    label = action
                elif warn_at is not None and finding.severity.at_least(warn_at):
                    label = lesser
                else:
                    label = "below"
                metrics.child(metrics.decisions, finding.rule, finding.severity.value, label).inc()
        for finding in decision.waived:
            metrics.child(metrics.decisions, finding.rule, finding.severity.value, "waived").inc()
        self.log.info(
            "admission review",
            extra={
                "event": "review",
                "endpoint": endpoint,
                "uid": request.uid,
                "operation": request.operation,
                "kind": request.kind,
                "namespace": request.namespace or None,
                "objectName": request.name or None,
                "user": request.username or None,
                "dryRun": request.dry_run,
                "allowed": decision.allowed,
                "reason": decision.reason,
                "rules": sorted({f.rule for f in decision.findings}) or None,
                "patched": len(patch) if patch else None,
                "durationMs": round(elapsed * 1000, 3),
            },
        )


async def _respond(send: Send, status: int, body: bytes, content_type: bytes) -> None:
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())],
    })
    await send({"type": "http.response.body", "body": body})


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def app_for(config: WebhookConfig, background: list[Any] | None = None) -> WebhookApp:
    """Build the rules (once) and the application for a configuration."""
    return WebhookApp(Admission(config), config, background=background)
