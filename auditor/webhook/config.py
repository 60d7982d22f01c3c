"""The webhook configuration file (``kube-auditor webhook serve --config FILE``).

One YAML file, validated by pydantic, says how the admission server decides (mode,
threshold, exemptions, timeouts), where its TLS material is, and what it evaluates: the
same rule packs, rule settings, severities and waivers as ``kube-auditor scan`` (the scan
configuration is embedded under ``scan:`` or named with ``scanConfigFile:``). Every field
is optional; docs/webhook.md lists them all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from ..engine.config import Config, ConfigError, load_config
from ..engine.rules import load_model_file
from ..threat import Severity

Mode = Literal["enforce", "warn", "audit"]
Outcome = Literal["allow", "deny"]
#: The largest AdmissionReview the server reads (the API server's own request limit).
DEFAULT_MAX_REQUEST_BYTES = 3 * 1024 * 1024


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Exemptions(_Strict):
    """Requests the webhook admits without evaluating them.

    Names take shell-style globs (``team-*``); ``labels`` must all match the object's own
    labels (for a workload, the workload's, not its pod template's).
    """

    namespaces: list[str] = Field(default_factory=list)
    users: list[str] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict)


class Timeouts(_Strict):
    """How long one evaluation may take, and what the answer is when it takes longer."""

    #: deadline of one evaluation in milliseconds (keep it well below ``timeoutSeconds``)
    evaluation_ms: int = Field(default=2000, alias="evaluationMs", ge=1, le=29000)
    #: the answer when the deadline passes: ``allow`` fails open, ``deny`` fails closed
    on_timeout: Outcome = Field(default="deny", alias="onTimeout")
    #: the answer when evaluation raises (a bug, never bad input): same choice
    on_error: Outcome = Field(default="deny", alias="onError")
    #: ``auto``: a SIGALRM timer on the server's main thread (no per-request thread
    #: hand-off), worker threads elsewhere; ``thread``: always worker threads
    isolation: Literal["auto", "thread"] = "auto"


class TLS(_Strict):
    cert_file: Path | None = Field(default=None, alias="certFile")
    key_file: Path | None = Field(default=None, alias="keyFile")
    #: how often the files are checked for a new certificate (seconds)
    reload_interval_seconds: float = Field(default=10.0, alias="reloadIntervalSeconds", gt=0)
    #: the lowest TLS version accepted
    min_version: Literal["1.2", "1.3"] = Field(default="1.2", alias="minVersion")


class Server(_Strict):
    host: str = "0.0.0.0"  # noqa: S104 - a server in a pod listens on the pod's address
    port: int = Field(default=8443, ge=1, le=65535)
    #: requests with a larger body are refused (400)
    max_request_bytes: int = Field(default=DEFAULT_MAX_REQUEST_BYTES, alias="maxRequestBytes", ge=1024)
    #: a client must send a whole request (headers and body) within this many seconds
    request_timeout_seconds: float = Field(default=10.0, alias="requestTimeoutSeconds", gt=0)
    #: idle keep-alive connections are closed after this many seconds (above the API
    #: server's own idle timeout of 90 s, so the client closes first)
    keep_alive_seconds: int = Field(default=120, alias="keepAliveSeconds", ge=1)
    #: connections served at once; more are answered 503
    max_connections: int = Field(default=1000, alias="maxConnections", ge=1)
    #: threads evaluating requests when the deadline needs them (see timeouts.isolation)
    workers: int = Field(default=4, ge=1, le=64)
    #: processes serving the reviews of RBAC objects (0: the server's own process)
    process_workers: int = Field(default=1, alias="processWorkers", ge=0, le=8)


class Mutation(_Strict):
    """``/mutate``: safe defaults added with a JSONPatch; off unless ``enabled``."""

    enabled: bool = False
    seccomp: bool = True
    allow_privilege_escalation: bool = Field(default=True, alias="allowPrivilegeEscalation")
    drop_capabilities: bool = Field(default=True, alias="dropCapabilities")


class Updates(_Strict):
    #: on UPDATE, count only findings the old object did not already have, so labelling,
    #: scaling or finalizing an object admitted before the webhook is never blocked
    new_findings_only: bool = Field(default=True, alias="newFindingsOnly")


class WebhookConfig(_Strict):
    """Everything the webhook configuration file can say."""

    api_version: Literal["kube-auditor.io/v1"] | None = Field(default=None, alias="apiVersion")
    kind: Literal["WebhookConfig"] | None = None
    mode: Mode = "enforce"
    #: findings at or above it deny (enforce), warn (warn) or are annotated (audit);
    #: default: the scan config's failOn, else high
    threshold: Severity | None = None
    #: findings from here up to the threshold are returned as warnings (enforce, warn) or
    #: audit annotations (audit); ``none`` turns that off
    warn_threshold: Severity | Literal["none"] = Field(default=Severity.medium, alias="warnThreshold")
    exemptions: Exemptions = Field(default_factory=Exemptions)
    timeouts: Timeouts = Field(default_factory=Timeouts)
    #: written into the ValidatingWebhookConfiguration by ``webhook manifests``
    failure_policy: Literal["Fail", "Ignore"] = Field(default="Fail", alias="failurePolicy")
    timeout_seconds: int = Field(default=5, alias="timeoutSeconds", ge=1, le=30)
    tls: TLS = Field(default_factory=TLS)
    server: Server = Field(default_factory=Server)
    mutation: Mutation = Field(default_factory=Mutation)
    updates: Updates = Field(default_factory=Updates)
    #: the scan configuration (rules.disable, rules.severity, pss, skipNamespaces, waivers)
    scan: Config | None = None
    #: or a path to a scan configuration file (relative paths: to this file)
    scan_config_file: Path | None = Field(default=None, alias="scanConfigFile")
    #: extra rule pack files or directories (relative paths: to this file)
    policies: list[Path] = Field(default_factory=list)
    builtin_policies: bool = Field(default=True, alias="builtinPolicies")
    #: rule ids evaluated by the scan but skipped at admission (on top of those that need
    #: the whole inventory, which are always skipped; see docs/webhook.md)
    skip_rules: list[str] = Field(default_factory=list, alias="skipRules")
    _source: str | None = PrivateAttr(default=None)
    _scan_config: Config | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _one_scan_config(self) -> WebhookConfig:
        if self.scan is not None and self.scan_config_file is not None:
            raise ValueError("give the scan configuration inline (scan) or as a file (scanConfigFile), not both")
        if self.timeouts.evaluation_ms >= self.timeout_seconds * 1000:
            raise ValueError(
                "timeouts.evaluationMs must be below timeoutSeconds, or the API server gives "
                "up before the webhook answers"
            )
        return self

    @property
    def source(self) -> str | None:
        return self._source

    @property
    def scan_config(self) -> Config:
        """The scan configuration: inline, from ``scanConfigFile``, or the defaults."""
        if self._scan_config is None:
            if self.scan is not None:
                self._scan_config = self.scan
            elif self.scan_config_file is not None:
                self._scan_config = load_config(self._resolve(self.scan_config_file))
            else:
                self._scan_config = Config()
        return self._scan_config

    @property
    def effective_threshold(self) -> Severity:
        if self.threshold is not None:
            return self.threshold
        fail_on = self.scan_config.fail_on
        if fail_on and fail_on != "none":
            return Severity(fail_on)
        return Severity.high

    @property
    def effective_warn_threshold(self) -> Severity | None:
        return None if self.warn_threshold == "none" else Severity(self.warn_threshold)

    def policy_paths(self) -> list[Path]:
        return [self._resolve(p) for p in self.policies]

    def _resolve(self, path: Path) -> Path:
        if path.is_absolute() or self._source is None:
            return path
        return Path(self._source).parent / path

    def tls_paths(self) -> tuple[Path | None, Path | None]:
        tls = self.tls
        return (
            self._resolve(tls.cert_file) if tls.cert_file else None,
            self._resolve(tls.key_file) if tls.key_file else None,
        )


def load_webhook_config(path: Path) -> WebhookConfig:
    """Read and validate a webhook configuration file; errors name the file, line and field."""
    name = str(path)
    config = load_model_file(
        path, WebhookConfig, ConfigError, "webhook config", "mode, threshold, tls, ...", "webhook config"
    )
    config._source = name
    if config.scan is not None:
        config.scan._source = f"{name} (scan)"
    config.scan_config  # noqa: B018 - read a scanConfigFile now, so its errors come at startup
    return config
