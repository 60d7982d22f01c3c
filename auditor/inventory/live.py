"""Live clusters: read what the rules need from a kube-apiserver, as plain manifest dicts.

The loader talks to the API server through the official ``kubernetes`` client's
configuration (kubeconfig, contexts, exec plugins, in-cluster service account) and
connection pool, but asks for raw JSON rather than the client's typed models: objects
come back exactly as ``kubectl get -o json`` shows them (API field names, unknown fields
kept), and the client's generated code, which changes between releases (the continue
token is ``_continue`` in some, ``var_continue`` in others), is not involved.

What it reads (:data:`CATALOGUE`): every kind a rule or analyzer looks at, at the
version the server prefers, found by discovery. Optional kinds (PodSecurityPolicy,
custom workload kinds such as Argo Rollouts) are read only where discovery says they
are served. Lists are paginated (``limit``/``continue``; an expired continue token
restarts that kind once).

Secrets are read as metadata only (``PartialObjectMetadataList``): the server never sends
their data, and the ``kubectl.kubernetes.io/last-applied-configuration`` annotation, which
carries the data of any Secret created by ``kubectl apply``, is dropped. The ``type`` of
ServiceAccount token Secrets (the one type the analyzers need) comes from a second
metadata-only list filtered with ``fieldSelector=type=...``.

A kind the credentials may not list (403) is recorded in :attr:`LiveInventory.unread`
with the exact permission missing; the rest is still read. An unreachable or
misconfigured cluster raises :class:`ClusterError` (one line, exit code 2 in the CLI).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol
from urllib.parse import quote, urlencode

from .errors import InputError, Location
from .loader import RawObject

#: Prefix of the source "file" of every live object: ``cluster:CONTEXT/NS/KIND/NAME``.
SOURCE_PREFIX = "cluster:"
#: Context name used when running in a pod with the in-cluster service account.
IN_CLUSTER = "in-cluster"

JSON = "application/json"
#: Ask for metadata only; no fallback type, so a server that cannot do it answers 406
#: instead of sending whole objects.
PARTIAL_METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
#: Aggregated discovery (one request for every group), falling back to the legacy lists.
AGGREGATED_DISCOVERY = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
    "application/json"
)
TOKEN_SECRET_TYPE = "kubernetes.io/service-account-token"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
DEFAULT_PAGE_SIZE = 500

Progress = Callable[[str, int], None]


# --------------------------------------------------------------------------- errors


class ClusterError(InputError):
    """The cluster cannot be read at all: bad kubeconfig, unknown context, unreachable
    server, TLS failure, rejected credentials. One line; the CLI exits 2."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(Location(where), reason)


class APIError(Exception):
    """A non-2xx answer from the API server."""

    def __init__(self, status: int, reason: str, message: str = "", retry_after: float | None = None):
        self.status = status
        self.reason = reason
        self.message = " ".join(message.split())
        self.retry_after = retry_after
        super().__init__(f"{status} {reason}" + (f": {self.message}" if self.message else ""))


# --------------------------------------------------------------------------- what to read


@dataclass(frozen=True, slots=True)
class KindSpec:
    """One kind the auditor reads: where it lives and how to read it."""

    group: str
    resource: str
    kind: str
    #: version used when discovery is unavailable; otherwise the server's preferred one
    version: str
    namespaced: bool
    #: read only when discovery says the server serves it
    optional: bool = False
    #: read as PartialObjectMetadata (Secrets)
    metadata_only: bool = False
    #: why it is read (documentation, ``kube-auditor snapshot`` header)
    why: str = ""

    @property
    def group_display(self) -> str:
        return self.group or "core"

    @property
    def qualified(self) -> str:
        """``deployments.apps``, ``pods`` (core): how kubectl names a resource."""
        return f"{self.resource}.{self.group}" if self.group else self.resource


_W = "pod template"
#: Everything a rule or analyzer reads, in the order objects are listed. Namespaces come
#: first so the inventory reads like a cluster dump.
CATALOGUE: tuple[KindSpec, ...] = (
    KindSpec("", "namespaces", "Namespace", "v1", False, why="namespace labels (Pod Security), NetworkPolicy scope"),
    KindSpec("", "serviceaccounts", "ServiceAccount", "v1", True, why="token automounting, RBAC subjects"),
    KindSpec("", "secrets", "Secret", "v1", True, metadata_only=True, why="ServiceAccount token Secrets (metadata only)"),
    KindSpec("rbac.authorization.k8s.io", "clusterroles", "ClusterRole", "v1", False, why="RBAC"),
    KindSpec("rbac.authorization.k8s.io", "clusterrolebindings", "ClusterRoleBinding", "v1", False, why="RBAC"),
    KindSpec("rbac.authorization.k8s.io", "roles", "Role", "v1", True, why="RBAC"),
    KindSpec("rbac.authorization.k8s.io", "rolebindings", "RoleBinding", "v1", True, why="RBAC"),
    KindSpec("", "pods", "Pod", "v1", True, why=_W),
    KindSpec("", "podtemplates", "PodTemplate", "v1", True, why=_W),
    KindSpec("", "replicationcontrollers", "ReplicationController", "v1", True, why=_W),
    KindSpec("apps", "deployments", "Deployment", "v1", True, why=_W),
    KindSpec("apps", "replicasets", "ReplicaSet", "v1", True, why=_W),
    KindSpec("apps", "statefulsets", "StatefulSet", "v1", True, why=_W),
    KindSpec("apps", "daemonsets", "DaemonSet", "v1", True, why=_W),
    KindSpec("batch", "jobs", "Job", "v1", True, why=_W),
    KindSpec("batch", "cronjobs", "CronJob", "v1", True, why=_W),
    KindSpec("", "services", "Service", "v1", True, why="exposure, NetworkPolicy front doors"),
    KindSpec("networking.k8s.io", "ingresses", "Ingress", "v1", True, why="exposure, NetworkPolicy front doors"),
    KindSpec("networking.k8s.io", "networkpolicies", "NetworkPolicy", "v1", True, why="NetworkPolicy analysis"),
    KindSpec("", "persistentvolumes", "PersistentVolume", "v1", False, why="hostPath volumes"),
    KindSpec("certificates.k8s.io", "certificatesigningrequests", "CertificateSigningRequest", "v1", False, why="system:masters certificate requests"),
    KindSpec("admissionregistration.k8s.io", "validatingwebhookconfigurations", "ValidatingWebhookConfiguration", "v1", False, why="admission control"),
    KindSpec("admissionregistration.k8s.io", "mutatingwebhookconfigurations", "MutatingWebhookConfiguration", "v1", False, why="admission control"),
    KindSpec("policy", "podsecuritypolicies", "PodSecurityPolicy", "v1beta1", False, optional=True, why="PodSecurityPolicy (Kubernetes < 1.25)"),
    # Custom workload kinds that carry a pod template where the inventory looks for one.
    KindSpec("argoproj.io", "rollouts", "Rollout", "v1alpha1", True, optional=True, why=_W),
    KindSpec("apps.openshift.io", "deploymentconfigs", "DeploymentConfig", "v1", True, optional=True, why=_W),
    KindSpec("apps.kruise.io", "clonesets", "CloneSet", "v1alpha1", True, optional=True, why=_W),
    KindSpec("keda.sh", "scaledjobs", "ScaledJob", "v1alpha1", True, optional=True, why=_W),
)

#: Resources (``resource`` or ``resource.group``) of every kind RBAC analysis needs.
RBAC_RESOURCES: frozenset[str] = frozenset(
    {
        "clusterroles.rbac.authorization.k8s.io",
        "clusterrolebindings.rbac.authorization.k8s.io",
        "roles.rbac.authorization.k8s.io",
        "rolebindings.rbac.authorization.k8s.io",
    }
)


# --------------------------------------------------------------------------- transport


class Transport(Protocol):
    """GET a path (with query parameters) and decode the JSON answer; raise
    :class:`APIError` for non-2xx answers and :class:`ClusterError` when the server
    cannot be reached at all."""

    def get(self, path: str, params: dict[str, Any] | None = None, accept: str = JSON) -> dict: ...


@dataclass
class Connection:
    """How to reach one cluster: its name for reports, its URL and a transport."""

    context: str
    server: str
    transport: Transport
    #: where the configuration came from (kubeconfig path, or ``in-cluster``)
    origin: str = ""

    @property
    def source(self) -> str:
        return f"{SOURCE_PREFIX}{self.context}"


class HTTPTransport:
    """GETs through the official client's urllib3 pool (its TLS, proxy and credentials)."""

    #: seconds to connect, and to wait for an answer (large lists take a while)
    CONNECT_TIMEOUT = 10.0
    READ_TIMEOUT = 120.0
    #: 429/503 answers with Retry-After are retried this many times
    RETRIES = 3
    MAX_RETRY_AFTER = 10.0

    def __init__(self, configuration: Any, where: str, user_agent: str = "kube-auditor") -> None:
        import urllib3
        from kubernetes.client.rest import RESTClientObject

        self._urllib3 = urllib3
        self.configuration = configuration
        self.where = where
        self.host = configuration.host.rstrip("/")
        self.user_agent = user_agent
        self.pool = RESTClientObject(configuration).pool_manager
        self.requests: list[tuple[str, str]] = []  #: (path?query, Accept) of every request

    def _headers(self, accept: str) -> dict[str, str]:
        headers = {"Accept": accept, "User-Agent": self.user_agent}
        for setting in self.configuration.auth_settings().values():
            if setting.get("in") == "header" and setting.get("value"):
                headers[setting["key"]] = setting["value"]
        return headers

    def get(self, path: str, params: dict[str, Any] | None = None, accept: str = JSON) -> dict:
        url = path + ("?" + urlencode(params) if params else "")
        urllib3 = self._urllib3
        for attempt in range(self.RETRIES + 1):
            self.requests.append((url, accept))
            try:
                response = self.pool.request(
                    "GET",
                    self.host + url,
                    headers=self._headers(accept),
                    timeout=urllib3.Timeout(connect=self.CONNECT_TIMEOUT, read=self.READ_TIMEOUT),
                    retries=urllib3.Retry(
                        total=2, connect=1, read=1, redirect=0, status=0, respect_retry_after_header=False
                    ),
                    preload_content=True,
                )
            except urllib3.exceptions.HTTPError as error:
                raise ClusterError(self.where, connection_problem(error)) from None
            status = response.status
            if 200 <= status < 300:
                try:
                    return json.loads(response.data)
                except ValueError:
                    raise APIError(status, "invalid JSON", f"GET {url} answered non-JSON data") from None
            error = _api_error(status, response.reason or "", response.data, response.headers)
            retry = error.retry_after
            if status in (429, 503) and retry is not None and attempt < self.RETRIES:
                time.sleep(min(retry, self.MAX_RETRY_AFTER))
                continue
            raise error
        raise AssertionError("unreachable")  # pragma: no cover


def _api_error(status: int, reason: str, data: bytes, headers: Any) -> APIError:
    message = ""
    try:
        body = json.loads(data)
        if isinstance(body, dict):
            message = str(body.get("message") or "")
            reason = reason or str(body.get("reason") or "")
    except ValueError:
        message = data[:200].decode("utf-8", "replace")
    retry_after = None
    value = headers.get("Retry-After") if headers is not None else None
    if value:
        try:
            retry_after = float(value)
        except ValueError:
            retry_after = None
    return APIError(status, reason, message, retry_after)


def connection_problem(error: BaseException) -> str:
    """One line saying why the server could not be reached (refused, TLS, DNS, timeout)."""
    import urllib3

    reason = getattr(error, "reason", None) or error
    text = " ".join(str(reason).split())
    if isinstance(reason, urllib3.exceptions.SSLError) or "SSL" in text or "CERTIFICATE" in text.upper():
        detail = re.search(r"\[SSL[^\]]*\]\s*([^()]*?)(?:\s*\(_ssl|\)|$)", text)
        cause = detail.group(1).strip() if detail else text
        return f"TLS error: {cause}"
    lowered = text.lower()
    for needle, cause in (
        ("connection refused", "connection refused"),
        ("name or service not known", "unknown host"),
        ("nodename nor servname", "unknown host"),
        ("temporary failure in name resolution", "unknown host (DNS)"),
        ("no route to host", "no route to host"),
        ("network is unreachable", "network is unreachable"),
        ("connection reset", "connection reset by the server"),
    ):
        if needle in lowered:
            return f"cannot connect: {cause}"
    # NewConnectionError subclasses ConnectTimeoutError: look at the words first
    if isinstance(reason, urllib3.exceptions.TimeoutError) or "timed out" in lowered:
        return "cannot connect: connection timed out"
    return f"cannot connect: {text}"


# --------------------------------------------------------------------------- configuration


def default_kubeconfig() -> str:
    """``$KUBECONFIG`` (may list several files) or ``~/.kube/config``, as kubectl reads it."""
    return os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")


def _kubeconfig_files(spec: str) -> list[str]:
    return [os.path.expanduser(p) for p in spec.split(os.pathsep) if p]


def _kubeconfig_contexts(spec: str) -> tuple[list[str], str | None]:
    """Context names and current-context of a kubeconfig (merged as the client merges
    ``$KUBECONFIG`` lists), without the client's own checks and their terse errors."""
    from kubernetes.config.config_exception import ConfigException
    from kubernetes.config.kube_config import KubeConfigMerger

    try:
        merger = KubeConfigMerger(spec)
        merged = merger.config
    except ConfigException as error:
        raise ClusterError(spec, f"invalid kubeconfig: {error}") from None
    except Exception as error:  # noqa: BLE001 - YAML errors, unreadable files
        raise ClusterError(spec, f"cannot read kubeconfig: {type(error).__name__}: {error}") from None
    value = getattr(merged, "value", merged)
    if not isinstance(value, dict):
        raise ClusterError(spec, "invalid kubeconfig: not a YAML mapping")
    contexts = value.get("contexts")
    names = []
    for entry in contexts if isinstance(contexts, list) else []:
        entry = getattr(entry, "value", entry)
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            names.append(entry["name"])
    # kubectl takes the first file that sets a current-context (the client, the last one)
    for config in getattr(merger, "config_files", {}).values() or [value]:
        current = config.get("current-context") if isinstance(config, dict) else None
        if isinstance(current, str) and current:
            return names, current
    return names, None


def in_cluster_available() -> bool:
    """Running in a pod: the service host is set and the service account token is mounted."""
    from kubernetes.config import incluster_config

    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and os.path.isfile(
        incluster_config.SERVICE_TOKEN_FILENAME
    )


def connect(
    kubeconfig: str | None = None,
    context: str | None = None,
    in_cluster: bool | None = None,
    user_agent: str = "kube-auditor",
) -> Connection:
    """Configure access to a cluster as kubectl would.

    ``kubeconfig``/``context`` given: that kubeconfig (and context). Otherwise
    ``$KUBECONFIG`` or ``~/.kube/config`` when it exists, else the in-cluster service
    account when running in a pod. ``in_cluster=True`` forces the latter.
    """
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    configuration = client.Configuration()
    use_kubeconfig = kubeconfig is not None or context is not None or in_cluster is False
    spec = kubeconfig or default_kubeconfig()
    if not use_kubeconfig and in_cluster is None:
        present = any(os.path.isfile(p) for p in _kubeconfig_files(spec))
        use_kubeconfig = present or not in_cluster_available()
    if not use_kubeconfig:
        try:
            config.load_incluster_config(client_configuration=configuration)
        except ConfigException as error:
            raise ClusterError(IN_CLUSTER, f"in-cluster configuration: {error}") from None
        where = f"{SOURCE_PREFIX}{IN_CLUSTER} ({configuration.host})"
        transport = HTTPTransport(configuration, where, user_agent)
        return Connection(IN_CLUSTER, configuration.host, transport, IN_CLUSTER)

    files = _kubeconfig_files(spec)
    missing = [p for p in files if not os.path.isfile(p)]
    if not files or len(missing) == len(files):
        hint = "" if kubeconfig else " (set --kubeconfig or $KUBECONFIG; not running in a pod either)"
        raise ClusterError(spec or "kubeconfig", f"no such kubeconfig file{hint}")
    names, current = _kubeconfig_contexts(spec)
    if context is not None and context not in names:
        known = ", ".join(sorted(n for n in names if n)) or "none"
        raise ClusterError(spec, f"context {context!r} not found in kubeconfig (contexts: {known})")
    chosen = context or current
    if not chosen:
        raise ClusterError(spec, "kubeconfig has no current-context; choose one with --context")
    if chosen not in names:
        known = ", ".join(sorted(n for n in names if n)) or "none"
        raise ClusterError(spec, f"current-context {chosen!r} is not among the kubeconfig's contexts ({known})")
    try:
        config.load_kube_config(
            config_file=spec, context=chosen, client_configuration=configuration, persist_config=False
        )
    except ConfigException as error:
        raise ClusterError(spec, f"context {chosen!r}: {error}") from None
    except Exception as error:  # noqa: BLE001 - exec plugins, unreadable cert files
        raise ClusterError(spec, f"context {chosen!r}: {type(error).__name__}: {error}") from None
    where = f"{SOURCE_PREFIX}{chosen} ({configuration.host})"
    return Connection(chosen, configuration.host, HTTPTransport(configuration, where, user_agent), spec)


# --------------------------------------------------------------------------- discovery


@dataclass(frozen=True, slots=True)
class Served:
    """A resource as discovery describes it."""

    group: str
    version: str
    resource: str
    kind: str
    namespaced: bool
    verbs: tuple[str, ...]

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def collection_path(self, namespace: str | None = None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if namespace is not None and self.namespaced:
            return f"{base}/namespaces/{quote(namespace, safe='')}/{self.resource}"
        return f"{base}/{self.resource}"


@dataclass
class Discovery:
    """Which versions the server serves for each (group, resource), preferred first."""

    served: dict[tuple[str, str], list[Served]] = field(default_factory=dict)
    #: discovery failed (e.g. 403): the catalogue's own versions are assumed
    problem: str | None = None

    def add(self, item: Served) -> None:
        self.served.setdefault((item.group, item.resource), []).append(item)

    def resolve(self, spec: KindSpec) -> Served | None:
        """The version to read ``spec`` at: the first served one that can be listed."""
        if self.problem is not None:
            if spec.optional:
                return None
            return Served(spec.group, spec.version, spec.resource, spec.kind, spec.namespaced, ("list",))
        for item in self.served.get((spec.group, spec.resource), ()):
            if "list" in item.verbs or not item.verbs:
                return item
        return None


def _aggregated(document: dict, discovery: Discovery, core: bool) -> None:
    for group_item in document.get("items") or ():
        group = "" if core else str((group_item.get("metadata") or {}).get("name") or "")
        for version_item in group_item.get("versions") or ():
            if version_item.get("freshness") == "Stale":
                continue
            version = str(version_item.get("version") or "")
            for res in version_item.get("resources") or ():
                kind = (res.get("responseKind") or {}).get("kind") or ""
                discovery.add(
                    Served(
                        group, version, str(res.get("resource") or ""), kind,
                        res.get("scope") == "Namespaced", tuple(res.get("verbs") or ()),
                    )
                )


def _legacy_resources(document: dict, group: str, version: str, discovery: Discovery) -> None:
    for res in document.get("resources") or ():
        name = str(res.get("name") or "")
        if "/" in name:  # subresources
            continue
        discovery.add(
            Served(group, version, name, str(res.get("kind") or ""), bool(res.get("namespaced")),
                   tuple(res.get("verbs") or ()))
        )


def discover(transport: Transport, wanted: Iterable[KindSpec]) -> Discovery:
    """Ask the server what it serves: aggregated discovery (two requests) when it offers
    it, else the legacy per-group documents of the groups the catalogue needs."""
    discovery = Discovery()
    groups_wanted = {spec.group for spec in wanted}
    try:
        core = transport.get("/api", accept=AGGREGATED_DISCOVERY)
        apis = transport.get("/apis", accept=AGGREGATED_DISCOVERY)
    except APIError as error:
        if error.status == 401:
            raise
        discovery.problem = f"API discovery failed ({error})"
        return discovery
    if core.get("kind") == "APIGroupDiscoveryList" and apis.get("kind") == "APIGroupDiscoveryList":
        _aggregated(core, discovery, core=True)
        _aggregated(apis, discovery, core=False)
        return discovery
    # legacy discovery
    try:
        for version in core.get("versions") or ["v1"]:
            if version == "v1":
                _legacy_resources(transport.get("/api/v1"), "", "v1", discovery)
        for group in apis.get("groups") or ():
            name = str(group.get("name") or "")
            if name not in groups_wanted:
                continue
            preferred = (group.get("preferredVersion") or {}).get("version")
            versions = [str(v.get("version")) for v in group.get("versions") or ()]
            ordered = ([preferred] if preferred in versions else []) + [v for v in versions if v != preferred]
            for version in ordered:
                try:
                    document = transport.get(f"/apis/{name}/{version}")
                except APIError as error:
                    if error.status in (401, 403):
                        raise
                    continue  # an unavailable aggregated API (503) is skipped
                _legacy_resources(document, name, version, discovery)
    except APIError as error:
        if error.status == 401:
            raise
        discovery.problem = f"API discovery failed ({error})"
    return discovery


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class Unread:
    """A kind (in a namespace, or cluster-wide) that could not be read, and why."""

    kind: str
    group: str
    resource: str
    verb: str
    namespace: str | None  #: ``None``: cluster-wide (all namespaces, or a cluster-scoped kind)
    status: int
    reason: str

    @property
    def permission(self) -> str:
        """The RBAC permission that was missing: ``list secrets (apiGroups [""]) in namespace x``."""
        where = f"in namespace {self.namespace}" if self.namespace else "cluster-wide"
        return f'{self.verb} {self.resource} (apiGroups ["{self.group}"]) {where}'

    def __str__(self) -> str:
        if self.status == 403:
            return f"{self.kind} not read: missing permission {self.permission} (403 Forbidden)"
        where = f" in namespace {self.namespace}" if self.namespace else ""
        return f"{self.kind} not read{where}: {self.status} {self.reason}".rstrip()

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "group": self.group, "resource": self.resource, "verb": self.verb,
            "namespace": self.namespace, "status": self.status, "reason": self.reason,
        }


@dataclass
class LiveInventory:
    """What one read of a cluster produced."""

    context: str
    server: str
    version: str
    namespaces: tuple[str, ...]  #: the namespaces asked for (empty: all)
    taken: datetime
    objects: list[RawObject] = field(default_factory=list)
    unread: list[Unread] = field(default_factory=list)
    #: optional kinds the server does not serve (``PodSecurityPolicy (policy)``)
    not_served: list[str] = field(default_factory=list)
    #: other things worth knowing (discovery fell back, a list was restarted)
    notes: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  #: kind → objects read
    requests: int = 0
    seconds: float = 0.0

    @property
    def source(self) -> str:
        return f"{SOURCE_PREFIX}{self.context}"

    def messages(self) -> list[str]:
        """Everything a report should say about what was not read, one line each."""
        return [str(u) for u in self.unread] + list(self.notes)


def object_location(context: str, kind: str, name: str, namespace: str | None) -> Location:
    parts = [context] + ([namespace] if namespace else []) + [kind, name]
    return Location(SOURCE_PREFIX + "/".join(parts))


def clean_object(item: dict, api_version: str, kind: str) -> dict:
    """A list item as a manifest has it: ``apiVersion`` and ``kind`` first, no managedFields."""
    obj: dict[str, Any] = {"apiVersion": item.get("apiVersion") or api_version, "kind": item.get("kind") or kind}
    for key, value in item.items():
        if key in ("apiVersion", "kind"):
            continue
        if key == "metadata" and isinstance(value, dict) and "managedFields" in value:
            value = {k: v for k, v in value.items() if k != "managedFields"}
        obj[key] = value
    return obj


#: Metadata of a Secret that is kept: identity, labels and annotations (minus the
#: last-applied annotation), owners. Everything else is dropped.
_SECRET_METADATA = (
    "name", "namespace", "uid", "resourceVersion", "creationTimestamp", "labels",
    "annotations", "ownerReferences", "deletionTimestamp", "finalizers",
)


def secret_from_metadata(item: dict, api_version: str = "v1") -> dict:
    """A Secret with nothing but metadata, whatever the server sent."""
    metadata = item.get("metadata") if isinstance(item.get("metadata"), dict) else {}
    kept: dict[str, Any] = {}
    for key in _SECRET_METADATA:
        if key not in metadata:
            continue
        value = metadata[key]
        if key == "annotations" and isinstance(value, dict):
            value = {k: v for k, v in value.items() if k != LAST_APPLIED}
            if not value:
                continue
        kept[key] = value
    return {"apiVersion": api_version, "kind": "Secret", "metadata": kept}


# --------------------------------------------------------------------------- the reader


class _Restart(Exception):
    """The continue token expired (410): list the kind again from the start."""


class ClusterReader:
    """Reads the catalogue's kinds from one connection (see :func:`read_cluster`)."""

    def __init__(
        self,
        connection: Connection,
        namespaces: Iterable[str] = (),
        resources: Iterable[str] | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        progress: Progress | None = None,
        catalogue: Iterable[KindSpec] = CATALOGUE,
    ) -> None:
        self.connection = connection
        self.transport = connection.transport
        self.namespaces = tuple(dict.fromkeys(namespaces))
        wanted = set(resources) if resources is not None else None
        self.catalogue = [
            spec for spec in catalogue
            if wanted is None or spec.qualified in wanted or spec.resource in wanted
        ]
        self.page_size = page_size
        self.progress = progress
        self.requests = 0

    def _get(self, path: str, params: dict[str, Any] | None = None, accept: str = JSON) -> dict:
        self.requests += 1
        return self.transport.get(path, params, accept)

    def _fatal_401(self, error: APIError) -> ClusterError:
        return ClusterError(
            f"{self.connection.source} ({self.connection.server})",
            "the server rejected the credentials (401 Unauthorized)"
            + (f": {error.message}" if error.message and error.message != "Unauthorized" else ""),
        )

    def read(self) -> LiveInventory:
        started = time.monotonic()
        try:
            version_info = self._get("/version")
        except APIError as error:
            if error.status == 401:
                raise self._fatal_401(error) from None
            version_info = {}
        version = str(version_info.get("gitVersion") or "unknown")
        result = LiveInventory(
            self.connection.context, self.connection.server, version, self.namespaces,
            datetime.now(timezone.utc).replace(microsecond=0),
        )
        try:
            discovery = discover(_Counting(self), self.catalogue)
        except APIError as error:
            raise self._fatal_401(error) from None
        if discovery.problem:
            result.notes.append(
                f"{discovery.problem}; assumed the usual API versions and skipped optional kinds"
            )
        for spec in self.catalogue:
            served = discovery.resolve(spec)
            if served is None:
                if spec.optional:
                    result.not_served.append(f"{spec.kind} ({spec.group_display})")
                else:
                    result.notes.append(f"{spec.kind} ({spec.qualified}) is not served by this cluster")
                continue
            try:
                self._read_kind(spec, served, result)
            except APIError as error:
                if error.status == 401:
                    raise self._fatal_401(error) from None
                raise
        result.requests = self.requests
        result.seconds = time.monotonic() - started
        return result

    # -- one kind ----------------------------------------------------------------------

    def _scopes(self, spec: KindSpec) -> list[str | None]:
        if spec.namespaced and self.namespaces:
            return list(self.namespaces)
        return [None]

    def _read_kind(self, spec: KindSpec, served: Served, result: LiveInventory) -> None:
        kind = served.kind or spec.kind
        count = 0
        if spec.kind == "Namespace" and self.namespaces:
            for name in self.namespaces:
                try:
                    item = self._get(served.collection_path() + "/" + quote(name, safe=""))
                except APIError as error:
                    if error.status == 404:
                        raise ClusterError(
                            f"{self.connection.source} ({self.connection.server})",
                            f"namespace {name!r} does not exist",
                        ) from None
                    result.unread.append(
                        Unread(kind, spec.group, spec.resource, "get", name, error.status, error.reason)
                    )
                    continue
                self._add(result, clean_object(item, served.api_version, kind), kind, None)
                count += 1
            result.counts[kind] = result.counts.get(kind, 0) + count
            return
        for namespace in self._scopes(spec):
            for attempt in (1, 2):
                batch: list[dict] = []
                try:
                    for item in self._list(spec, served, namespace):
                        batch.append(item)
                        if self.progress is not None and len(batch) % self.page_size == 0:
                            self.progress(spec.resource, count + len(batch))
                except _Restart:
                    if attempt == 1:
                        result.notes.append(
                            f"{kind}: the list continue token expired; listed again from the start"
                        )
                        continue
                    result.unread.append(
                        Unread(kind, spec.group, spec.resource, "list", namespace, 410, "Gone (continue token expired twice)")
                    )
                    batch = []
                except APIError as error:
                    if error.status == 401:
                        raise
                    reason = error.reason or ""
                    if error.status == 406 and spec.metadata_only and reason == "Not Acceptable":
                        reason = "Not Acceptable: the server cannot list metadata only, and whole objects are never requested"
                    result.unread.append(
                        Unread(kind, spec.group, spec.resource, "list", namespace, error.status, reason)
                    )
                    batch = []
                break
            if spec.metadata_only:
                tokens = self._token_secret_names(served, namespace) if batch else set()
                for item in batch:
                    obj = secret_from_metadata(item, served.api_version)
                    meta = obj["metadata"]
                    if (meta.get("namespace"), meta.get("name")) in tokens:
                        obj["type"] = TOKEN_SECRET_TYPE
                    self._add(result, obj, kind, meta.get("namespace"))
            else:
                for item in batch:
                    obj = clean_object(item, served.api_version, kind)
                    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
                    self._add(result, obj, kind, metadata.get("namespace") if served.namespaced else None)
            count += len(batch)
            if self.progress is not None:
                self.progress(spec.resource, count)
        result.counts[kind] = result.counts.get(kind, 0) + count

    def _add(self, result: LiveInventory, obj: dict, kind: str, namespace: str | None) -> None:
        metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
        name = str(metadata.get("name") or "")
        location = object_location(self.connection.context, kind, name, namespace)
        result.objects.append(RawObject(obj, location))

    def _list(
        self, spec: KindSpec, served: Served, namespace: str | None, selector: str | None = None,
    ) -> Iterator[dict]:
        """Every item of one collection, page by page."""
        path = served.collection_path(namespace)
        accept = PARTIAL_METADATA_LIST if spec.metadata_only else JSON
        token: str | None = None
        while True:
            params: dict[str, Any] = {"limit": self.page_size}
            if token:
                params["continue"] = token
            if selector:
                params["fieldSelector"] = selector
            try:
                page = self._get(path, params, accept)
            except APIError as error:
                if error.status == 410 and token:
                    raise _Restart() from None
                raise
            if spec.metadata_only and page.get("kind") != "PartialObjectMetadataList":
                # never keep whole Secrets, whatever a server or proxy in between sent
                raise APIError(406, "the answer was whole objects, not metadata only, and was discarded")
            for item in page.get("items") or ():
                if isinstance(item, dict):
                    yield item
            token = (page.get("metadata") or {}).get("continue") or None
            if not token:
                return

    def _token_secret_names(self, served: Served, namespace: str | None) -> set[tuple[str, str]]:
        spec = KindSpec(served.group, served.resource, "Secret", served.version, served.namespaced, metadata_only=True)
        names: set[tuple[str, str]] = set()
        try:
            for item in self._list(spec, served, namespace, f"type={TOKEN_SECRET_TYPE}"):
                meta = item.get("metadata") or {}
                names.add((meta.get("namespace"), meta.get("name")))
        except (APIError, _Restart):
            pass
        return names


class _Counting:
    """The reader's transport, counting requests (discovery goes through it too)."""

    def __init__(self, reader: ClusterReader) -> None:
        self.reader = reader

    def get(self, path: str, params: dict[str, Any] | None = None, accept: str = JSON) -> dict:
        return self.reader._get(path, params, accept)


def read_cluster(
    connection: Connection,
    namespaces: Iterable[str] = (),
    resources: Iterable[str] | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
    progress: Progress | None = None,
) -> LiveInventory:
    """Read every kind of :data:`CATALOGUE` (or only ``resources``) from the cluster.

    ``namespaces``: read namespaced kinds only there (cluster-scoped kinds are always
    read: RBAC needs ClusterRoles). ``progress(resource, count)`` is called as pages
    arrive.
    """
    return ClusterReader(connection, namespaces, resources, page_size, progress).read()


def load_cluster(
    kubeconfig: str | None = None,
    context: str | None = None,
    namespaces: Iterable[str] = (),
    resources: Iterable[str] | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
    progress: Progress | None = None,
) -> LiveInventory:
    """:func:`connect` then :func:`read_cluster`."""
    return read_cluster(connect(kubeconfig, context), namespaces, resources, page_size, progress)
