"""The threat-model vocabulary every finding is tagged with.

Kept free of any other project import: it is the shared language of rules, analyzers and
reports. STRIDE names what an attacker gains; the 4C layer (cloud, cluster, container,
code) names where the defence lives; severity orders the work and drives the CI gate.
"""

from __future__ import annotations

from enum import Enum


class Severity(str, Enum):
    """How urgently a finding needs attention; ordered from most to least severe."""

    critical = "critical"
    high = "high"
    medium = "medium"
    low = "low"
    info = "info"

    @property
    def rank(self) -> int:
        """A number that grows with severity (info=0 … critical=4), for sorting and gates."""
        return SEVERITY_RANK[self]

    def at_least(self, other: Severity) -> bool:
        return self.rank >= other.rank


SEVERITY_RANK: dict[Severity, int] = {
    Severity.info: 0,
    Severity.low: 1,
    Severity.medium: 2,
    Severity.high: 3,
    Severity.critical: 4,
}

SEVERITIES_DESCENDING: tuple[Severity, ...] = tuple(
    sorted(Severity, key=lambda s: s.rank, reverse=True)
)


class Stride(str, Enum):
    """The STRIDE threat categories (Microsoft's threat-modelling mnemonic)."""

    Spoofing = "Spoofing"
    Tampering = "Tampering"
    Repudiation = "Repudiation"
    InformationDisclosure = "InformationDisclosure"
    DenialOfService = "DenialOfService"
    ElevationOfPrivilege = "ElevationOfPrivilege"

    @property
    def meaning(self) -> str:
        """One line on what the category means for a Kubernetes cluster."""
        return STRIDE_MEANING[self]


STRIDE_MEANING: dict[Stride, str] = {
    Stride.Spoofing: "Acting as another identity: stolen or over-shared ServiceAccount tokens, "
    "impersonation, anonymous access.",
    Stride.Tampering: "Changing what runs or how: mutable images, writable root filesystems, "
    "write access to workloads, webhooks or policies.",
    Stride.Repudiation: "Acting without a trace: actions that escape audit logs or cannot be "
    "attributed to an identity.",
    Stride.InformationDisclosure: "Reading what should stay private: secrets, host filesystems "
    "and namespaces, unrestricted network paths for lateral movement and exfiltration.",
    Stride.DenialOfService: "Starving or breaking the cluster: missing resource limits, missing "
    "probes, policies that cut needed traffic.",
    Stride.ElevationOfPrivilege: "Gaining more power than granted: privileged containers, "
    "host access, RBAC escalation paths to cluster-admin.",
}


class Layer(str, Enum):
    """The 4C layer of cloud-native security where a finding's defence lives."""

    cloud = "cloud"
    cluster = "cluster"
    container = "container"
    code = "code"

    @property
    def meaning(self) -> str:
        return LAYER_MEANING[self]


LAYER_MEANING: dict[Layer, str] = {
    Layer.cloud: "The infrastructure under the cluster: nodes, networks and the provider's IAM.",
    Layer.cluster: "The Kubernetes control plane's own objects: RBAC, NetworkPolicy, admission, "
    "exposure of Services and Ingresses.",
    Layer.container: "How each workload runs: images, security contexts, resources, probes.",
    Layer.code: "The application itself: its secrets handling, dependencies and endpoints.",
}


class Framework(str, Enum):
    """Control frameworks a rule can cite."""

    cis = "cis"  # CIS Kubernetes Benchmark section ids, e.g. "5.1.6"
    nsa = "nsa"  # NSA-CISA Kubernetes Hardening Guide, section names
    mitre = "mitre"  # MITRE ATT&CK technique ids, e.g. "T1610"


FRAMEWORK_TITLES: dict[Framework, str] = {
    Framework.cis: "CIS Kubernetes Benchmark",
    Framework.nsa: "NSA-CISA Kubernetes Hardening Guide",
    Framework.mitre: "MITRE ATT&CK",
}
