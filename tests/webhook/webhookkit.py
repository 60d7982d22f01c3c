"""Helpers for the webhook tests: AdmissionReviews, a running HTTPS server, a client."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from auditor.webhook.config import WebhookConfig
from auditor.webhook.decide import Admission
from auditor.webhook.server import build_server
from auditor.webhook.tls import self_signed

REPO = Path(__file__).resolve().parents[2]


def pod(name: str = "web", namespace: str = "shop", **container: Any) -> dict:
    """A Pod with one container ``app`` (extra container fields as keyword arguments)."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
        "spec": {"containers": [{"name": "app", "image": "ghcr.io/acme/web:1.0.0", **container}]},
    }


def hardened_pod(name: str = "web", namespace: str = "shop") -> dict:
    """A Pod no built-in rule fires on at medium or above (and none at all, but digests)."""
    obj = pod(
        name,
        namespace,
        image="ghcr.io/acme/web:1.0.0@sha256:" + "a" * 64,
        resources={"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}},
        securityContext={
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
        livenessProbe={"httpGet": {"path": "/healthz", "port": 8080}},
        readinessProbe={"httpGet": {"path": "/readyz", "port": 8080}},
    )
    obj["spec"]["securityContext"] = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    obj["spec"]["automountServiceAccountToken"] = False
    return obj


def review(
    obj: dict | None,
    operation: str = "CREATE",
    *,
    uid: str | None = None,
    old: dict | None = None,
    user: str = "alice",
    groups: tuple[str, ...] = ("system:authenticated",),
    dry_run: bool = False,
    sub_resource: str | None = None,
) -> dict:
    """An admission.k8s.io/v1 AdmissionReview as the API server sends it."""
    source = obj or old or {}
    api_version = source.get("apiVersion", "v1")
    group, _, version = api_version.rpartition("/")
    metadata = source.get("metadata", {})
    request: dict[str, Any] = {
        "uid": uid or str(uuid.uuid4()),
        "kind": {"group": group, "version": version, "kind": source.get("kind", "Pod")},
        "resource": {"group": group, "version": version, "resource": source.get("kind", "Pod").lower() + "s"},
        "requestKind": {"group": group, "version": version, "kind": source.get("kind", "Pod")},
        "name": metadata.get("name", ""),
        "namespace": metadata.get("namespace", ""),
        "operation": operation,
        "userInfo": {"username": user, "groups": list(groups)},
        "object": obj,
        "oldObject": old,
        "dryRun": dry_run,
        "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"},
    }
    if sub_resource:
        request["subResource"] = sub_resource
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RunningWebhook:
    """``kube-auditor webhook serve`` in a thread, on loopback, with development certificates."""

    def __init__(self, config: WebhookConfig, workdir: Path, admission: Admission | None = None) -> None:
        self.workdir = workdir
        self.certs = self_signed(workdir / "certs", ["localhost"], ["127.0.0.1"])
        self.port = free_port()
        self.serving = build_server(
            config, self.certs.cert_file, self.certs.key_file, host="127.0.0.1", port=self.port,
            admission=admission,
        )
        self.url = f"https://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.serving.server.run, name="webhook-server", daemon=True)

    @property
    def app(self):
        return self.serving.app

    def start(self) -> RunningWebhook:
        self._thread.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                status, _ = self.get("/readyz")
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("the webhook did not become ready in 30 s")

    def stop(self) -> None:
        self.serving.server.should_exit = True
        self._thread.join(timeout=15)

    def __enter__(self) -> RunningWebhook:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.certs.ca_file))

    def connection(self, timeout: float = 10) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout, context=self.ssl_context())

    def get(self, path: str) -> tuple[int, bytes]:
        conn = self.connection()
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def post(self, path: str, body: bytes | dict, headers: dict | None = None) -> tuple[int, Any]:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        conn = self.connection()
        try:
            conn.request("POST", path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
            response = conn.getresponse()
            raw = response.read()
        finally:
            conn.close()
        try:
            return response.status, json.loads(raw)
        except ValueError:
            return response.status, raw

    def validate(self, obj_review: dict) -> dict:
        status, answer = self.post("/validate", obj_review)
        assert status == 200, answer
        return answer["response"]
