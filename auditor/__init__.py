"""kube-auditor: audit and enforce Kubernetes security policy (RBAC, NetworkPolicy, Pod Security)."""

__version__ = "0.1.0"
