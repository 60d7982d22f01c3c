"""Helpers and manifests shared by the report tests (imported as a plain module)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from auditor.engine.config import Config
from auditor.engine.result import ScanResult
from auditor.report import ReportOptions, render
from auditor.threat import Severity

REPO_ROOT = Path(__file__).resolve().parents[2]

#: a Deployment with a literal password (high), no limits (medium/low), and so on
WEB = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    spec:
      containers:
        - name: web
          image: nginx:1.27
          env:
            - name: DB_PASSWORD
              value: hunter2
"""

#: a hardened Pod: only the low/info rules about digests and probes remain
QUIET = """\
apiVersion: v1
kind: Pod
metadata:
  name: quiet
  namespace: shop
spec:
  automountServiceAccountToken: false
  containers:
    - name: app
      image: registry.example/app:1.0
      resources:
        limits: {cpu: 100m, memory: 64Mi}
        requests: {cpu: 100m, memory: 64Mi}
      securityContext: {readOnlyRootFilesystem: true}
      livenessProbe: {tcpSocket: {port: 80}}
      readinessProbe: {tcpSocket: {port: 80}}
"""


def pod_json(name: str, containers: list[tuple[str, str]], namespace: str = "ns") -> str:
    """A Pod as JSON (which, unlike YAML, carries any character): (container, image) pairs."""
    return json.dumps(pod(name, containers, namespace))


def pod(name: str, containers: list[tuple[str, str]], namespace: str = "ns") -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"containers": [{"name": c, "image": image} for c, image in containers]},
    }


def waiver_config(rule: str, name: str, reason: str) -> Config:
    return Config.model_validate(
        {"waivers": [{"rule": rule, "match": {"name": name}, "reason": reason}]}
    )


def report(result: ScanResult, fmt: str, fail_on: Severity | None = Severity.high) -> str:
    return render(result, fmt, ReportOptions(fail_on=fail_on))


def shared_dir() -> Path | None:
    """The shared fixtures: ``$KUBE_AUDITOR_SHARED``, else ``<repo root>/../shared``."""
    override = os.environ.get("KUBE_AUDITOR_SHARED")
    if override:
        path = Path(override)
        assert path.is_dir(), f"KUBE_AUDITOR_SHARED={override} is not a directory"
        return path
    default = REPO_ROOT.parent / "shared"
    return default if default.is_dir() else None
