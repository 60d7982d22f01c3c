"""Reaching a cluster: kubeconfig and in-cluster configuration, the HTTP transport, and
one-line errors for every way it fails (no server needed: a local HTTP stub stands in)."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import urllib3
import yaml

from auditor.inventory.live import (
    IN_CLUSTER,
    APIError,
    ClusterError,
    connect,
    connection_problem,
)


def kubeconfig(path, server="https://127.0.0.1:6443", contexts=("dev", "prod"), current="dev", token="t0ken"):
    config = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server, "insecure-skip-tls-verify": True}}],
        "users": [{"name": "u", "user": {"token": token}}],
        "contexts": [{"name": n, "context": {"cluster": "c", "user": "u"}} for n in contexts],
        "current-context": current,
    }
    path.write_text(yaml.safe_dump(config))
    return str(path)


@pytest.fixture(autouse=True)
def no_ambient_cluster(monkeypatch, tmp_path):
    """Neither the developer's kubeconfig nor a pod's environment leaks into these tests."""
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-such-kubeconfig"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_PORT", raising=False)


# --------------------------------------------------------------------------- kubeconfig


def test_current_context_by_default(tmp_path):
    connection = connect(kubeconfig(tmp_path / "k"))
    assert (connection.context, connection.server, connection.source) == ("dev", "https://127.0.0.1:6443", "cluster:dev")


def test_context_chosen(tmp_path):
    assert connect(kubeconfig(tmp_path / "k"), context="prod").context == "prod"


def test_kubeconfig_from_the_environment_with_several_files(tmp_path, monkeypatch):
    first = kubeconfig(tmp_path / "a", contexts=("dev",), current="dev")
    second = kubeconfig(tmp_path / "b", contexts=("prod",), current="prod")
    monkeypatch.setenv("KUBECONFIG", f"{first}:{tmp_path / 'missing'}:{second}")
    assert connect().context == "dev"  # the first file's current-context
    assert connect(context="prod").context == "prod"  # contexts of every file


@pytest.mark.parametrize(
    ("setup", "kwargs", "message"),
    [
        (None, {}, "no such kubeconfig file (set --kubeconfig or $KUBECONFIG; not running in a pod either)"),
        (None, {"kubeconfig": "/nonexistent/kubeconfig"}, "/nonexistent/kubeconfig: no such kubeconfig file"),
        ("valid", {"context": "staging"}, "context 'staging' not found in kubeconfig (contexts: dev, prod)"),
        ("no-current", {}, "kubeconfig has no current-context; choose one with --context"),
        ("bad-current", {}, "current-context 'gone' is not among the kubeconfig's contexts (dev, prod)"),
        ("garbage", {}, "cannot read kubeconfig: ParserError"),
        ("empty", {}, "invalid kubeconfig: Invalid kube-config."),
    ],
)
def test_kubeconfig_problems_are_one_line(tmp_path, monkeypatch, setup, kwargs, message):
    path = tmp_path / "config"
    if setup == "valid":
        kubeconfig(path)
    elif setup == "no-current":
        kubeconfig(path, current="")
    elif setup == "bad-current":
        kubeconfig(path, current="gone")
    elif setup == "garbage":
        path.write_text("{{{: nope")
    elif setup == "empty":
        path.write_text("")
    if setup:
        kwargs = {"kubeconfig": str(path), **kwargs}
    with pytest.raises(ClusterError) as error:
        connect(**kwargs)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


# --------------------------------------------------------------------------- in a pod


@pytest.fixture
def pod(tmp_path, monkeypatch):
    from kubernetes.config import incluster_config

    token, ca = tmp_path / "token", tmp_path / "ca.crt"
    token.write_text("pod-token")
    ca.write_text("not checked until connecting")
    monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(token))
    monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", str(ca))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")


def test_in_a_pod_without_kubeconfig_the_service_account_is_used(pod):
    connection = connect()
    assert (connection.context, connection.server) == (IN_CLUSTER, "https://10.96.0.1:443")
    headers = connection.transport._headers("application/json")
    assert headers["authorization"].lower() == "bearer pod-token"


def test_in_a_pod_an_explicit_kubeconfig_wins(pod, tmp_path):
    assert connect(kubeconfig(tmp_path / "k")).context == "dev"


def test_in_a_pod_with_a_kubeconfig_in_the_environment_it_wins(pod, tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", kubeconfig(tmp_path / "k"))
    assert connect().context == "dev"


def test_in_cluster_forced_without_a_pod_environment(monkeypatch):
    with pytest.raises(ClusterError, match="in-cluster configuration: Service host/port is not set"):
        connect(in_cluster=True)


# --------------------------------------------------------------------------- transport


class Stub(BaseHTTPRequestHandler):
    """Answers by path: /ok JSON, /forbidden a Status, /busy 429 once, /html non-JSON."""

    seen: list[dict] = []
    busy = 0

    def do_GET(self):  # noqa: N802 - http.server's naming
        Stub.seen.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
        if self.path.startswith("/ok"):
            self._send(200, {"kind": "Thing", "path": self.path})
        elif self.path == "/forbidden":
            self._send(403, {"kind": "Status", "reason": "Forbidden", "message": 'secrets is forbidden: User "x"\ncannot list'})
        elif self.path == "/busy":
            Stub.busy += 1
            if Stub.busy == 1:
                self._send(429, {"kind": "Status", "message": "slow down"}, {"Retry-After": "0"})
            else:
                self._send(200, {"kind": "Thing"})
        else:
            body = b"<html>proxy error</html>"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def _send(self, status, body, headers=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def stub(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Stub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Stub.seen, Stub.busy = [], 0
    try:
        yield connect(kubeconfig(tmp_path / "k", server=f"http://127.0.0.1:{server.server_port}"))
    finally:
        server.shutdown()
        server.server_close()


def test_transport_sends_credentials_and_accept(stub):
    answer = stub.transport.get("/ok", {"limit": 5, "continue": "a b"}, accept="application/json;as=X")
    assert answer == {"kind": "Thing", "path": "/ok?limit=5&continue=a+b"}
    request = Stub.seen[-1]
    assert request["authorization"] == "Bearer t0ken"
    assert request["accept"] == "application/json;as=X"
    assert request["user-agent"] == "kube-auditor"
    assert stub.transport.requests[-1] == ("/ok?limit=5&continue=a+b", "application/json;as=X")


def test_transport_errors_carry_the_servers_message(stub):
    with pytest.raises(APIError) as error:
        stub.transport.get("/forbidden")
    assert (error.value.status, error.value.reason) == (403, "Forbidden")
    assert error.value.message == 'secrets is forbidden: User "x" cannot list'


def test_transport_retries_after_429(stub):
    assert stub.transport.get("/busy") == {"kind": "Thing"}
    assert len(Stub.seen) == 2


def test_transport_refuses_non_json(stub):
    with pytest.raises(APIError, match="answered non-JSON data"):
        stub.transport.get("/html")


def test_connection_refused_is_a_cluster_error(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    connection = connect(kubeconfig(tmp_path / "k", server=f"https://127.0.0.1:{port}"))
    with pytest.raises(ClusterError) as error:
        connection.transport.get("/version")
    assert str(error.value) == f"cluster:dev (https://127.0.0.1:{port}): cannot connect: connection refused"


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (urllib3.exceptions.SSLError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate (_ssl.c:1000)"),
         "TLS error: certificate verify failed: self-signed certificate"),
        (urllib3.exceptions.NewConnectionError(None, "Failed to establish a new connection: [Errno -2] Name or service not known"),
         "cannot connect: unknown host"),
        (urllib3.exceptions.ConnectTimeoutError(None, "Connection to 10.0.0.1 timed out. (connect timeout=10)"),
         "cannot connect: connection timed out"),
        (urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError(104, "Connection reset by peer")),
         "cannot connect: connection reset by the server"),
    ],
)
def test_connection_problems_in_words(error, expected):
    wrapped = urllib3.exceptions.MaxRetryError(None, "/version", error)
    assert connection_problem(wrapped) == expected
