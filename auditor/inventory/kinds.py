"""What the inventory knows about Kubernetes kinds: scope and pod-template locations."""

from __future__ import annotations

#: Built-in cluster-scoped kinds (by kind; group-qualified lookups are not needed for these
#: names, which no common API group reuses for a namespaced kind). CustomResourceDefinitions
#: in the inventory add their own cluster-scoped kinds.
CLUSTER_SCOPED_KINDS: frozenset[str] = frozenset(
    {
        "APIService",
        "CertificateSigningRequest",
        "ClusterRole",
        "ClusterRoleBinding",
        "ClusterTrustBundle",
        "ComponentStatus",
        "CSIDriver",
        "CSINode",
        "CustomResourceDefinition",
        "DeviceClass",
        "FlowSchema",
        "IngressClass",
        "IPAddress",
        "MutatingAdmissionPolicy",
        "MutatingAdmissionPolicyBinding",
        "MutatingWebhookConfiguration",
        "Namespace",
        "Node",
        "PersistentVolume",
        "PodSecurityPolicy",
        "PriorityClass",
        "PriorityLevelConfiguration",
        "ResourceSlice",
        "RuntimeClass",
        "SelfSubjectAccessReview",
        "SelfSubjectReview",
        "SelfSubjectRulesReview",
        "ServiceCIDR",
        "StorageClass",
        "StorageVersion",
        "StorageVersionMigration",
        "SubjectAccessReview",
        "TokenReview",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "ValidatingWebhookConfiguration",
        "VolumeAttachment",
        "VolumeAttributesClass",
    }
)

#: Where built-in kinds keep their pod spec, as key paths from the object root.
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "PodTemplate": ("template", "spec"),
    "Deployment": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}

#: Places where other kinds (Argo Rollouts, OpenShift DeploymentConfigs, KEDA ScaledJobs,
#: …) commonly carry a pod template; used only when a ``containers`` list is found there.
GENERIC_POD_SPEC_PATHS: tuple[tuple[str, ...], ...] = (
    ("spec", "template", "spec"),
    ("spec", "jobTemplate", "spec", "template", "spec"),
    ("spec", "jobTargetRef", "template", "spec"),  # KEDA ScaledJob
)

#: Kinds that run to completion, for rules that only make sense for long-running pods.
RUN_TO_COMPLETION_KINDS: frozenset[str] = frozenset({"Job", "CronJob"})


def api_group(api_version: str) -> str:
    """The API group of an apiVersion: ``apps/v1`` → ``apps``; ``v1`` → ``""`` (core)."""
    group, sep, _ = api_version.rpartition("/")
    return group if sep else ""
