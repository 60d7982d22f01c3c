"""RBAC analysis: the kube-apiserver authorizer's semantics over an inventory.

* :mod:`.policy`: rules and requests, matched as upstream ``RuleAllows`` does;
* :mod:`.model`: roles, bindings and subjects as an API server would hold them (validation,
  built-in roles, aggregation), with ``authorize``, ``who_can`` and ``grants_for``;
* :mod:`.builtin`: Kubernetes' bootstrap roles and bindings, from a generated file;
* :mod:`.paths`: escalation paths from a subject to what it can become;
* :mod:`.analyzers`: the analyzers behind the ``rbac`` rule pack.
"""

from .builtin import (
    BOOTSTRAP_FILE,
    BuiltinRBAC,
    builtin_rbac_summary,
    builtin_rbac_version,
    load_builtin,
)
from .identity import SubjectError, SubjectRef, UserInfo, implicit_groups, parse_subject
from .model import Binding, Decision, Grant, RBACModel, Role, Subject, WhoCanEntry
from .policy import PolicyRule, Request, RuleIndex

__all__ = [
    "BOOTSTRAP_FILE",
    "Binding",
    "BuiltinRBAC",
    "Decision",
    "Grant",
    "PolicyRule",
    "RBACModel",
    "Request",
    "Role",
    "RuleIndex",
    "Subject",
    "SubjectError",
    "SubjectRef",
    "UserInfo",
    "WhoCanEntry",
    "builtin_rbac_summary",
    "builtin_rbac_version",
    "implicit_groups",
    "load_builtin",
    "parse_subject",
]
