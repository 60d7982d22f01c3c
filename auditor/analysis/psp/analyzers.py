"""The analyzers behind ``policies/psp.yaml``.

A PodSecurityPolicy is as dangerous as who may use it, so every finding is graded by its
audience (:class:`~.usage.Audience`): the rule's own severity when particular subjects may
use the policy, ``grade.broad`` (critical by default) when every authenticated user, every
anonymous request or every ServiceAccount may, and ``grade.unused`` (info) when nobody but
cluster admins may. When the target cluster runs Kubernetes 1.25 or later
(``AnalysisSettings.kube_version``), PSPs do nothing: the field rules are silent and
``psp.inert`` says so once per policy.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ...threat import Severity
from ..rbac.analyzers import rbac_model
from ..registry import AnalysisContext, Hit, NoParams, analyzer
from .checks import CHECKS, DANGEROUS_CAPABILITIES
from .mapping import map_psp
from .model import PSP, psp_inert, psps_of
from .usage import Audience, use_grants

CheckName = Literal[
    "privileged", "host_namespaces", "host_ports", "privilege_escalation", "capabilities",
    "default_add_capabilities", "host_path_any", "host_path_writable", "run_as_root",
    "selinux_any", "writable_root", "unsafe_sysctls",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class AudienceGrade(_Strict):
    #: usable by every authenticated user, anonymous request or ServiceAccount
    broad: Severity = Severity.critical
    #: usable by nobody (or only by subjects that hold every permission)
    unused: Severity = Severity.info


class PSPCheckParams(_Strict):
    check: CheckName
    #: for ``capabilities``: the capabilities that count as dangerous
    dangerous: list[str] = Field(default_factory=lambda: list(DANGEROUS_CAPABILITIES))
    grade: AudienceGrade = Field(default_factory=AudienceGrade)


def _kube_version(context: AnalysisContext) -> str | None:
    version = context.settings.kube_version
    try:
        psp_inert(version)
    except ValueError:
        return None  # the CLI refuses a bad version; a library caller gets "unknown"
    return version


def policies(context: AnalysisContext) -> list[PSP]:
    return context.memo("psp.policies", lambda: psps_of(context.inventory))


def audience_of(context: AnalysisContext, psp: PSP) -> Audience:
    audiences: dict[str, Audience] = context.memo("psp.audiences", dict)
    found = audiences.get(psp.name)
    if found is None:
        found = audiences[psp.name] = Audience(use_grants(rbac_model(context), psp))
    return found


@analyzer("psp.check", params=PSPCheckParams)
def psp_check(context: AnalysisContext, params: PSPCheckParams) -> Iterator[Hit]:
    """PodSecurityPolicies that let pods do a dangerous thing, graded by who may use them."""
    if psp_inert(_kube_version(context)):
        return
    check = CHECKS[params.check]
    for psp in policies(context):
        problem = check(psp, dangerous=tuple(params.dangerous))
        if problem is None:
            continue
        audience = audience_of(context, psp)
        level = audience.level
        severity = {"broad": params.grade.broad, "nobody": params.grade.unused}.get(level)
        yield Hit(
            psp.resource,
            f"{psp.display} {problem}; {audience.describe()}",
            key=params.check,
            severity=severity,
            details={"check": params.check, **audience.to_dict()},
        )


@analyzer("psp.inert")
def psp_inert_policies(context: AnalysisContext, params: NoParams) -> Iterator[Hit]:
    """PodSecurityPolicies on a cluster of Kubernetes 1.25 or later, where they do nothing."""
    version = _kube_version(context)
    if not psp_inert(version):
        return
    for psp in policies(context):
        mapping = map_psp(psp, version)
        yield Hit(
            psp.resource,
            f"{psp.display} does nothing on Kubernetes {version}: the PodSecurityPolicy API and "
            "its admission controller were removed in 1.25, so the API server refuses the object "
            f"and admits pods without it. Its Pod Security equivalent is {mapping.level}; "
            "kube-auditor psp migrate gives the namespace labels that replace it",
            details={"kubeVersion": version, "pssLevel": mapping.level},
        )
