"""A real kube-apiserver (backed by a real etcd) for end-to-end tests.

Why a real server rather than mocks: the auditor reasons about RBAC,
admission and API semantics (dry-run, pagination, aggregated ClusterRoles);
only the real code answers those questions the way a cluster does.

What it is NOT: a cluster. There is no kube-controller-manager, no scheduler,
no kubelet and no nodes. Consequences tests must live with:

* Pods are accepted and stored but stay ``Pending`` forever.
* Namespaces get no ``default`` ServiceAccount (that is a controller's job),
  and the ServiceAccount admission plugin rejects Pods whose ServiceAccount is
  missing. Use :meth:`KubeAPIServer.ensure_namespace`, which creates it.
* Nothing is garbage-collected and deleted namespaces stay ``Terminating``:
  use a fresh, uniquely named namespace per test instead of cleaning up.
* ServiceAccount token Secrets are not filled in; use the TokenRequest API
  (:meth:`KubeAPIServer.kubeconfig_for_service_account`).

Binaries come from ``e2e/build-binaries.sh`` (see docs/development.md).

Typical use outside pytest::

    with KubeAPIServer(find_binaries()) as server:
        core = kubernetes.client.CoreV1Api(server.api_client())
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import ssl
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import yaml

from . import pki, procs, rbac
from .binaries import (  # noqa: F401  (re-exported: the harness's public API)
    BUILD_HINT,
    REPO_ROOT,
    Binaries,
    BinariesNotFound,
    HarnessError,
    find_binaries,
    pinned_kubernetes_version,
    pinned_versions,
    require_binaries,
)

CONTEXT_NAME = "kube-auditor-e2e"
ADMIN_USER = "kube-auditor-admin"
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"
SERVICE_CLUSTER_IP_RANGE = "10.96.0.0/16"
#: Seconds to wait for /readyz; override with KUBE_AUDITOR_E2E_START_TIMEOUT.
DEFAULT_START_TIMEOUT = 60.0
POLL_INTERVAL = 0.1
LOG_TAIL_LINES = 25


class PortInUse(HarnessError):
    """A server could not bind its port (another process took it)."""


class ServerNotReady(HarnessError):
    """A server exited or did not become ready in time."""


# -------------------------------------------------------------- small helpers


def free_ports(count: int) -> list[int]:
    """Ask the kernel for ``count`` distinct free loopback TCP ports.

    The sockets are held open together so the same port cannot come back
    twice; another process may still take one before the server binds it,
    which :meth:`KubeAPIServer.start` detects and retries.
    """
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def last_error(path: Path) -> str:
    """The last log line that looks like an error (klog ``E``/``F`` or "error"), else the last line."""
    try:
        text = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return ""
    for line in reversed(text):
        klog_error = line[:1] in ("E", "F") and line[1:5].isdigit()  # E0102 15:04:05 ...
        if klog_error or "error" in line.lower():  # etcd logs JSON with "level":"error"
            return line.strip()
    return text[-1].strip() if text else ""


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """Last ``lines`` lines of a log file, for error messages."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"(no log at {path})"
    return "\n".join(f"  | {line}" for line in text.splitlines()[-lines:])


def write_kubeconfig(
    path: Path,
    url: str,
    ca_file: Path,
    user: str,
    credentials: dict,
    context: str = CONTEXT_NAME,
) -> Path:
    """Write a one-cluster, one-user kubeconfig. ``credentials`` is the kubeconfig ``user`` map."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": context, "cluster": {"server": url, "certificate-authority": str(ca_file)}}
        ],
        "users": [{"name": user, "user": credentials}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": user}}],
        "current-context": context,
        "preferences": {},
    }
    path.touch(mode=0o600)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


# ------------------------------------------------------------------ the server


class KubeAPIServer:
    """etcd + kube-apiserver on free loopback ports, in a private working directory.

    Attributes after :meth:`start`: ``url``, ``ca_file``, ``kubeconfig`` (admin,
    context ``kube-auditor-e2e``), ``version`` (the server's gitVersion),
    ``workdir``, ``startup_seconds`` and ``pids``.
    """

    def __init__(
        self,
        binaries: Binaries,
        workdir: Path | None = None,
        start_timeout: float | None = None,
        extra_apiserver_args: Sequence[str] = (),
        aggregate_cluster_roles: bool = True,
    ) -> None:
        self.binaries = binaries
        self.aggregate_cluster_roles = aggregate_cluster_roles
        self._own_workdir = workdir is None
        self.workdir = (
            Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="kube-auditor-e2e-"))
        )
        self.start_timeout = start_timeout or float(
            os.environ.get("KUBE_AUDITOR_E2E_START_TIMEOUT", DEFAULT_START_TIMEOUT)
        )
        self.extra_apiserver_args = list(extra_apiserver_args)
        self.url = ""
        self.version = ""
        self.startup_seconds = 0.0
        self.ca_file = self.workdir / "pki" / "ca.crt"
        self.kubeconfig = self.workdir / "admin.kubeconfig"
        self._ca: pki.CertificateAuthority | None = None
        self._admin_cert: tuple[Path, Path] | None = None
        self._etcd = None
        self._apiserver = None
        #: Exit code of each stopped process by binary name; -9 means SIGTERM was not enough.
        self.exit_codes: dict[str, int] = {}

    # -- lifecycle -------------------------------------------------------

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def pids(self) -> list[int]:
        """Process ids (= process group ids) of etcd and kube-apiserver, if started."""
        return [p.pid for p in (self._etcd, self._apiserver) if p is not None]

    def start(self, attempts: int = 3) -> KubeAPIServer:
        """Start etcd then kube-apiserver and wait for /readyz.

        A port taken between choosing it and binding it is retried with fresh
        ports, up to ``attempts`` times.
        """
        t0 = time.monotonic()
        try:
            self._write_pki()
            for attempt in range(1, attempts + 1):
                try:
                    self._start_once()
                    break
                except PortInUse:
                    self._stop_processes()
                    if attempt == attempts:
                        raise
            self.startup_seconds = time.monotonic() - t0
            self.version = self.get_json("/version")["gitVersion"]
            if self.aggregate_cluster_roles:
                # Stand in for kube-controller-manager's clusterrole-aggregation
                # controller so admin/edit/view have their real rules.
                rbac.aggregate_cluster_roles(self)
        except BaseException:
            # No process may outlive a failed start; the logs stay for the error message.
            self._stop_processes()
            raise
        return self

    def stop(self) -> None:
        """Stop both processes (SIGTERM, then SIGKILL after a grace period); idempotent."""
        self._stop_processes()
        shutil.rmtree(self.workdir / "etcd-data", ignore_errors=True)
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _stop_processes(self) -> None:
        # The API server first: etcd's graceful stop waits for the API server's watches.
        for attr in ("_apiserver", "_etcd"):
            proc = getattr(self, attr)
            if proc is not None:
                self.exit_codes[proc.args[0].rsplit("/", 1)[-1]] = procs.stop(proc)
                setattr(self, attr, None)

    # -- setup -----------------------------------------------------------

    def _write_pki(self) -> None:
        d = self.workdir / "pki"
        d.mkdir(parents=True, exist_ok=True)
        self._ca = pki.CertificateAuthority()
        self._ca.pair.write(d, "ca")
        self._ca.issue(
            "kube-apiserver",
            server=True,
            dns_names=("localhost", "kubernetes", "kubernetes.default"),
            ip_addresses=("127.0.0.1",),
        ).write(d, "apiserver")
        self._admin_cert = self._ca.issue(ADMIN_USER, ("system:masters",)).write(d, "admin")
        sa_key, sa_pub = pki.service_account_keys()
        (d / "sa.key").touch(mode=0o600)
        (d / "sa.key").write_bytes(sa_key)
        (d / "sa.pub").write_bytes(sa_pub)

    def _start_once(self) -> None:
        etcd_port, peer_port, api_port = free_ports(3)
        self._start_etcd(etcd_port, peer_port)
        self._start_apiserver(etcd_port, api_port)
        self.url = f"https://127.0.0.1:{api_port}"
        write_kubeconfig(
            self.kubeconfig,
            self.url,
            self.ca_file,
            ADMIN_USER,
            {
                "client-certificate": str(self._admin_cert[0]),
                "client-key": str(self._admin_cert[1]),
            },
        )
        deadline = time.monotonic() + self.start_timeout
        self._wait_until(
            deadline, "kube-apiserver", self._apiserver, self._api_log, self._apiserver_ready
        )

    def _start_etcd(self, client_port: int, peer_port: int) -> None:
        client_url = f"http://127.0.0.1:{client_port}"
        peer_url = f"http://127.0.0.1:{peer_port}"
        data = self.workdir / "etcd-data"
        shutil.rmtree(data, ignore_errors=True)
        self._etcd_log = self.workdir / "etcd.log"
        self._etcd_url = client_url
        self._etcd = procs.start(
            [
                str(self.binaries.etcd),
                "--name=e2e",
                f"--data-dir={data}",
                f"--listen-client-urls={client_url}",
                f"--advertise-client-urls={client_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=e2e={peer_url}",
                "--initial-cluster-state=new",
                # Test data is disposable: skipping fsync makes every write much faster.
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
            self._etcd_log,
            self.workdir,
        )
        deadline = time.monotonic() + self.start_timeout
        self._wait_until(deadline, "etcd", self._etcd, self._etcd_log, self._etcd_ready)

    def _start_apiserver(self, etcd_port: int, api_port: int) -> None:
        d = self.workdir / "pki"
        self._api_log = self.workdir / "kube-apiserver.log"
        self._apiserver = procs.start(
            [
                str(self.binaries.kube_apiserver),
                f"--etcd-servers=http://127.0.0.1:{etcd_port}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={api_port}",
                f"--cert-dir={d}",
                f"--tls-cert-file={d / 'apiserver.crt'}",
                f"--tls-private-key-file={d / 'apiserver.key'}",
                f"--client-ca-file={d / 'ca.crt'}",
                "--authorization-mode=Node,RBAC",
                # The default (lease) reconciler refuses a loopback advertise address.
                "--endpoint-reconciler-type=none",
                f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
                f"--service-account-key-file={d / 'sa.pub'}",
                f"--service-account-signing-key-file={d / 'sa.key'}",
                f"--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}",
                # An auditor's tests need privileged Pods to be storable.
                "--allow-privileged=true",
                "--profiling=false",
                *self.extra_apiserver_args,
            ],
            self._api_log,
            self.workdir,
        )

    # -- readiness -------------------------------------------------------

    def _wait_until(self, deadline, name, proc, log, ready) -> None:
        """Poll ``ready()`` until true; fail fast if ``proc`` exits, with the log tail."""
        while True:
            code = proc.poll()
            if code is not None:
                tail, last = log_tail(log), last_error(log)
                if "address already in use" in tail:
                    raise PortInUse(
                        f"{name} could not bind its port (port clash): {last}\nlog {log}:\n{tail}"
                    )
                raise ServerNotReady(
                    f"{name} exited with code {code} during startup: {last}\nlog {log}:\n{tail}"
                )
            if ready():
                return
            if time.monotonic() > deadline:
                raise ServerNotReady(
                    f"{name} not ready after {self.start_timeout:.0f}s "
                    f"(KUBE_AUDITOR_E2E_START_TIMEOUT): {last_error(log)}\nlog {log}:\n{log_tail(log)}"
                )
            time.sleep(POLL_INTERVAL)

    def _etcd_ready(self) -> bool:
        host, port = self._etcd_url.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=2)
        try:
            conn.request("GET", "/health")
            body = conn.getresponse().read()
        except OSError:
            return False
        finally:
            conn.close()
        return b'"health":"true"' in body

    def _apiserver_ready(self) -> bool:
        try:
            status, _ = self._request("/readyz")
        except OSError:
            return False
        return status == 200

    # -- talking to the server -------------------------------------------

    def _ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.ca_file))
        ctx.load_cert_chain(*map(str, self._admin_cert))
        return ctx

    def _request(
        self, path: str, method: str = "GET", body: bytes | None = None, content_type: str = ""
    ) -> tuple[int, bytes]:
        port = int(self.url.rsplit(":", 1)[1])
        conn = http.client.HTTPSConnection(
            "127.0.0.1", port, timeout=10, context=self._ssl_context()
        )
        headers = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def request_json(self, method: str, path: str, body=None, content_type="application/json"):
        """Send ``body`` (JSON-encoded) as the admin user; decode the JSON answer.

        Raw dicts keep the API's own field names (``apiGroups``, not
        ``api_groups``), which is what data dumps and comparisons want.
        Raises HarnessError on any non-2xx status.
        """
        data = None if body is None else json.dumps(body).encode()
        status, answer = self._request(path, method, data, content_type if data else "")
        if not 200 <= status < 300:
            raise HarnessError(f"{method} {path} answered {status}: {answer[:300]!r}")
        return json.loads(answer)

    def get_json(self, path: str):
        """GET ``path`` as the admin user and decode the JSON answer."""
        return self.request_json("GET", path)

    def api_client(self, kubeconfig: Path | None = None):
        """An official-client ``kubernetes.client.ApiClient`` for a kubeconfig (default: admin)."""
        from kubernetes import config

        return config.new_client_from_config(config_file=str(kubeconfig or self.kubeconfig))

    # -- other identities --------------------------------------------------

    def kubeconfig_for_user(self, user: str, groups: Sequence[str] = ()) -> Path:
        """A kubeconfig authenticating as ``user`` in ``groups`` via a CA-signed client cert.

        The identity starts with no permissions beyond what RBAC grants to
        ``system:authenticated``, which is what an RBAC test usually wants.
        """
        stem = f"user-{uuid.uuid4().hex[:8]}"
        crt, key = self._ca.issue(user, tuple(groups)).write(self.workdir / "pki", stem)
        return write_kubeconfig(
            self.workdir / f"{stem}.kubeconfig",
            self.url,
            self.ca_file,
            user,
            {"client-certificate": str(crt), "client-key": str(key)},
        )

    def kubeconfig_for_service_account(
        self, namespace: str, name: str, expiration_seconds: int = 3600
    ) -> Path:
        """A kubeconfig with a bound token for ServiceAccount ``namespace/name`` (TokenRequest API).

        The ServiceAccount must exist (see :meth:`ensure_namespace`).
        """
        from kubernetes import client

        core = client.CoreV1Api(self.api_client())
        request = client.AuthenticationV1TokenRequest(
            spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=expiration_seconds)
        )
        token = core.create_namespaced_service_account_token(name, namespace, request).status.token
        return write_kubeconfig(
            self.workdir / f"sa-{namespace}-{name}-{uuid.uuid4().hex[:6]}.kubeconfig",
            self.url,
            self.ca_file,
            f"system:serviceaccount:{namespace}:{name}",
            {"token": token},
        )

    def ensure_namespace(self, name: str, service_accounts: Sequence[str] = ("default",)) -> str:
        """Create namespace ``name`` and its ServiceAccounts if missing; return ``name``.

        Stands in for the controllers this server lacks: without the
        ``default`` ServiceAccount, Pods in the namespace are rejected.
        """
        from kubernetes import client
        from kubernetes.client.rest import ApiException

        core = client.CoreV1Api(self.api_client())
        objects = [
            (core.create_namespace, (client.V1Namespace(metadata=client.V1ObjectMeta(name=name)),))
        ]
        for sa in service_accounts:
            body = client.V1ServiceAccount(metadata=client.V1ObjectMeta(name=sa))
            objects.append((core.create_namespaced_service_account, (name, body)))
        for create, args in objects:
            try:
                create(*args)
            except ApiException as e:
                if e.status != 409:  # 409 Conflict: already exists
                    raise
        return name

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """Last lines of the kube-apiserver log, for debugging a failing test."""
        return log_tail(self.workdir / "kube-apiserver.log", lines)
