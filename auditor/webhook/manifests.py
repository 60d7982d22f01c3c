"""Deployment manifests for the webhook (``kube-auditor webhook manifests``).

The objects are built as plain dicts from :class:`ManifestOptions`; the Helm chart in
``charts/kube-auditor`` renders the same objects from its values (a test compares them).
They pass ``kube-auditor scan`` with no finding at or above medium: a restricted pod
(non-root, read-only root filesystem, no capabilities, RuntimeDefault seccomp, no API
token: the server never calls the API), two replicas spread across nodes with a
PodDisruptionBudget, and a NetworkPolicy that admits only the API server (and DNS out).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

import yaml

APP_NAME = "kube-auditor-webhook"
WEBHOOK_NAME = "validate.kube-auditor.io"
MUTATING_WEBHOOK_NAME = "mutate.kube-auditor.io"
PORT = 8443
CONFIG_DIR = "/etc/kube-auditor/config"
TLS_DIR = "/etc/kube-auditor/tls"
#: What the webhook is registered for: pods, the workloads that template them, RBAC
#: objects and NetworkPolicies (CREATE and UPDATE).
WEBHOOK_RESOURCES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("", ("pods", "pods/ephemeralcontainers", "podtemplates", "replicationcontrollers")),
    ("apps", ("daemonsets", "deployments", "replicasets", "statefulsets")),
    ("batch", ("cronjobs", "jobs")),
    ("networking.k8s.io", ("networkpolicies",)),
    ("rbac.authorization.k8s.io", ("clusterrolebindings", "clusterroles", "rolebindings", "roles")),
)


@dataclass
class ManifestOptions:
    namespace: str
    image: str
    mode: str = "enforce"
    replicas: int = 2
    name: str = APP_NAME
    threshold: str = "high"
    failure_policy: str = "Fail"
    timeout_seconds: int = 5
    tls_secret: str | None = None
    ca_bundle: str | None = None  #: base64 PEM, as the webhook configuration holds it
    mutate: bool = False
    apiserver_cidrs: list[str] = field(default_factory=list)
    cert_manager: bool = False

    @property
    def secret_name(self) -> str:
        return self.tls_secret or f"{self.name}-tls"


def _labels(o: ManifestOptions) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": APP_NAME,
        "app.kubernetes.io/instance": o.name,
        "app.kubernetes.io/component": "admission-webhook",
        "app.kubernetes.io/part-of": "kube-auditor",
    }


def _selector(o: ManifestOptions) -> dict[str, str]:
    return {"app.kubernetes.io/name": APP_NAME, "app.kubernetes.io/instance": o.name}


def _meta(o: ManifestOptions, namespaced: bool = True, name: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name or o.name}
    if namespaced:
        meta["namespace"] = o.namespace
    meta["labels"] = _labels(o)
    return meta


def webhook_config_text(o: ManifestOptions) -> str:
    """The webhook configuration file the pods read (JSON, which is YAML)."""
    config = {
        "apiVersion": "kube-auditor.io/v1",
        "kind": "WebhookConfig",
        "mode": o.mode,
        "threshold": o.threshold,
        "failurePolicy": o.failure_policy,
        "timeoutSeconds": o.timeout_seconds,
        "tls": {"certFile": f"{TLS_DIR}/tls.crt", "keyFile": f"{TLS_DIR}/tls.key"},
        "mutation": {"enabled": o.mutate},
    }
    return json.dumps(config, indent=2, sort_keys=True) + "\n"


def _restricted_container_context() -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def deployment(o: ManifestOptions) -> dict[str, Any]:
    probe = {"httpGet": {"path": "/readyz", "port": "https", "scheme": "HTTPS"}}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(o),
        "spec": {
            "replicas": o.replicas,
            "selector": {"matchLabels": _selector(o)},
            # Never below the wanted number of ready replicas during a rollout.
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": _labels(o)},
                "spec": {
                    "serviceAccountName": o.name,
                    "automountServiceAccountToken": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 65532,
                        "runAsGroup": 65532,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "affinity": {
                        "podAntiAffinity": {
                            "preferredDuringSchedulingIgnoredDuringExecution": [
                                {
                                    "weight": 100,
                                    "podAffinityTerm": {
                                        "topologyKey": "kubernetes.io/hostname",
                                        "labelSelector": {"matchLabels": _selector(o)},
                                    },
                                }
                            ]
                        }
                    },
                    "terminationGracePeriodSeconds": 30,
                    "containers": [
                        {
                            "name": "webhook",
                            "image": o.image,
                            "imagePullPolicy": "IfNotPresent",
                            "args": ["webhook", "serve", "--config", f"{CONFIG_DIR}/config.yaml"],
                            "ports": [{"name": "https", "containerPort": PORT, "protocol": "TCP"}],
                            "readinessProbe": {**probe, "periodSeconds": 5, "failureThreshold": 2},
                            "livenessProbe": {
                                "httpGet": {"path": "/healthz", "port": "https", "scheme": "HTTPS"},
                                "periodSeconds": 10,
                                "failureThreshold": 3,
                            },
                            # Keep serving while endpoints drop this pod (rolling updates).
                            "lifecycle": {"preStop": {"sleep": {"seconds": 5}}},
                            "resources": {
                                "requests": {"cpu": "100m", "memory": "128Mi"},
                                "limits": {"cpu": "1", "memory": "512Mi"},
                            },
                            "securityContext": _restricted_container_context(),
                            "volumeMounts": [
                                {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
                                {"name": "tls", "mountPath": TLS_DIR, "readOnly": True},
                                {"name": "tmp", "mountPath": "/tmp"},
                            ],
                        }
                    ],
                    "volumes": [
                        {"name": "config", "configMap": {"name": o.name}},
                        {"name": "tls", "secret": {"secretName": o.secret_name}},
                        {"name": "tmp", "emptyDir": {"sizeLimit": "16Mi"}},
                    ],
                },
            },
        },
    }


def _namespace_selector(o: ManifestOptions) -> dict[str, Any]:
    return {
        "matchExpressions": [
            {
                "key": "kubernetes.io/metadata.name",
                "operator": "NotIn",
                "values": sorted({o.namespace, "kube-system"}),
            }
        ]
    }


def _client_config(o: ManifestOptions, path: str) -> dict[str, Any]:
    config: dict[str, Any] = {
        "service": {"name": o.name, "namespace": o.namespace, "path": path, "port": 443}
    }
    if o.ca_bundle and not o.cert_manager:
        config["caBundle"] = o.ca_bundle
    return config


def _webhook_meta(o: ManifestOptions) -> dict[str, Any]:
    meta = _meta(o, namespaced=False)
    if o.cert_manager:
        meta["annotations"] = {"cert-manager.io/inject-ca-from": f"{o.namespace}/{o.name}"}
    return meta


def validating_webhook(o: ManifestOptions) -> dict[str, Any]:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": _webhook_meta(o),
        "webhooks": [
            {
                "name": WEBHOOK_NAME,
                "admissionReviewVersions": ["v1"],
                "sideEffects": "None",
                "failurePolicy": o.failure_policy,
                "timeoutSeconds": o.timeout_seconds,
                "matchPolicy": "Equivalent",
                "clientConfig": _client_config(o, "/validate"),
                "namespaceSelector": _namespace_selector(o),
                "rules": [
                    {
                        "apiGroups": [group],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": list(resources),
                        "scope": "*",
                    }
                    for group, resources in WEBHOOK_RESOURCES
                ],
            }
        ],
    }


def mutating_webhook(o: ManifestOptions) -> dict[str, Any]:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": _webhook_meta(o),
        "webhooks": [
            {
                "name": MUTATING_WEBHOOK_NAME,
                "admissionReviewVersions": ["v1"],
                "sideEffects": "None",
                # Defaults are a convenience: a pod is never refused because they failed
                # (the validating webhook still judges it).
                "failurePolicy": "Ignore",
                "timeoutSeconds": o.timeout_seconds,
                "matchPolicy": "Equivalent",
                "reinvocationPolicy": "Never",
                "clientConfig": _client_config(o, "/mutate"),
                "namespaceSelector": _namespace_selector(o),
                "rules": [
                    {
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE"],
                        "resources": ["pods"],
                        "scope": "Namespaced",
                    }
                ],
            }
        ],
    }


def network_policy(o: ManifestOptions) -> dict[str, Any]:
    ingress: dict[str, Any] = {"ports": [{"protocol": "TCP", "port": PORT}]}
    if o.apiserver_cidrs:
        ingress["from"] = [{"ipBlock": {"cidr": cidr}} for cidr in o.apiserver_cidrs]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta(o),
        "spec": {
            "podSelector": {"matchLabels": _selector(o)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [ingress],
            "egress": [
                {
                    "to": [
                        {
                            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                        }
                    ],
                    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                }
            ],
        },
    }


def cert_manager_objects(o: ManifestOptions) -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "cert-manager.io/v1",
            "kind": "Issuer",
            "metadata": _meta(o, name=f"{o.name}-selfsigned"),
            "spec": {"selfSigned": {}},
        },
        {
            "apiVersion": "cert-manager.io/v1",
            "kind": "Certificate",
            "metadata": _meta(o),
            "spec": {
                "secretName": o.secret_name,
                "dnsNames": [f"{o.name}.{o.namespace}.svc", f"{o.name}.{o.namespace}.svc.cluster.local"],
                "issuerRef": {"name": f"{o.name}-selfsigned", "kind": "Issuer"},
                "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
                "duration": "2160h",
                "renewBefore": "720h",
            },
        },
    ]


def manifests(o: ManifestOptions) -> list[dict[str, Any]]:
    """Every object, in the order they should be applied."""
    objects: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(o), "automountServiceAccountToken": False},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(o), "data": {"config.yaml": webhook_config_text(o)}},
        deployment(o),
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": _meta(o),
            "spec": {"minAvailable": 1, "selector": {"matchLabels": _selector(o)}},
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": _meta(o),
            "spec": {
                "type": "ClusterIP",
                "selector": _selector(o),
                "ports": [{"name": "https", "port": 443, "targetPort": "https", "protocol": "TCP"}],
            },
        },
        network_policy(o),
    ]
    if o.cert_manager:
        objects += cert_manager_objects(o)
    objects.append(validating_webhook(o))
    if o.mutate:
        objects.append(mutating_webhook(o))
    return objects


def render_yaml(objects: list[dict[str, Any]]) -> str:
    return "---\n".join(yaml.safe_dump(obj, sort_keys=False, default_flow_style=False) for obj in objects)


def ca_bundle_from_pem(pem: bytes) -> str:
    return base64.b64encode(pem).decode("ascii")
