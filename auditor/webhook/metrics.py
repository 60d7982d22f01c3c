"""Prometheus metrics of the webhook (text exposition format at ``/metrics``).

Each server owns a registry, so several servers (tests) never share counters.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from .. import __version__

#: Seconds; fine-grained below 10 ms, where an admission webhook should live.
LATENCY_BUCKETS = (
    0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5, 5.0, 10.0,
)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.info = Gauge(
            "kube_auditor_webhook_info", "Version and mode of the running webhook (always 1).",
            ["version", "mode", "threshold"], registry=r,
        )
        self.rules = Gauge(
            "kube_auditor_webhook_rules", "Rules loaded, by whether they run at admission.",
            ["state"], registry=r,
        )
        self.requests = Counter(
            "kube_auditor_webhook_requests_total", "HTTP requests by endpoint and status code.",
            ["endpoint", "code"], registry=r,
        )
        self.admissions = Counter(
            "kube_auditor_webhook_admissions_total",
            "Admission reviews answered, by endpoint, operation, kind, decision and reason "
            "(evaluated, exempt, operation, subresource, deleting, timeout, error).",
            ["endpoint", "operation", "kind", "decision", "reason"], registry=r,
        )
        self.decisions = Counter(
            "kube_auditor_webhook_decisions_total",
            "Findings in admission decisions, by rule, severity and action "
            "(deny, warn, audit, below: under the warning threshold, waived).",
            ["rule", "severity", "action"], registry=r,
        )
        self.latency = Histogram(
            "kube_auditor_webhook_request_duration_seconds",
            "Time from the request's first byte read to the response, by endpoint.",
            ["endpoint"], buckets=LATENCY_BUCKETS, registry=r,
        )
        self.evaluation = Histogram(
            "kube_auditor_webhook_evaluation_duration_seconds",
            "Time spent evaluating rules for one review (in the worker thread).",
            buckets=LATENCY_BUCKETS, registry=r,
        )
        self.bad_requests = Counter(
            "kube_auditor_webhook_bad_requests_total",
            "Requests refused before evaluation, by reason (invalid, too_large, slow_body, method, not_found).",
            ["reason"], registry=r,
        )
        self.cert_reloads = Counter(
            "kube_auditor_webhook_certificate_reloads_total",
            "Serving certificate reloads, by result (ok, error).", ["result"], registry=r,
        )
        self.cert_expiry = Gauge(
            "kube_auditor_webhook_certificate_expiry_timestamp_seconds",
            "notAfter of the serving certificate in use, as a Unix time.", registry=r,
        )
        self.rules.labels("admission")
        self.rules.labels("skipped")
        for endpoint in ("validate", "mutate"):
            self.latency.labels(endpoint)
        self._version = __version__
        self._children: dict = {}
        self._kinds: set[str] = set()

    def child(self, metric, *labels: str):
        """``metric.labels(*labels)``, memoised (label lookups lock and hash every time)."""
        key = (id(metric), labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        return found

    def kind_label(self, kind: str) -> str:
        """A request's kind as a label value; past 64 distinct kinds, ``other`` (a client
        that is not the API server must not grow the registry without bound)."""
        if kind in self._kinds or len(self._kinds) < 64:
            self._kinds.add(kind)
            return kind
        return "other"

    def set_info(self, mode: str, threshold: str, evaluated: int, skipped: int) -> None:
        self.info.labels(self._version, mode, threshold).set(1)
        self.rules.labels("admission").set(evaluated)
        self.rules.labels("skipped").set(skipped)

    def render(self) -> bytes:
        return generate_latest(self.registry)
