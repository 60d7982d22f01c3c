"""Text and JSON renderings of the PSP migration plan (``kube-auditor psp migrate``)."""

from __future__ import annotations

import json

from ..text import plain_table
from .mapping import NO_OPINION, RESTRICTED
from .migrate import MigrationPlan, NamespacePlan, PSPPlan


def _psp_text(plan: PSPPlan) -> str:
    mapping = plan.mapping
    psp = plan.psp
    lines = [f"PodSecurityPolicy {psp.name}  ({psp.resource.source})"]
    level = mapping.level
    if mapping.blocking:
        why = ", ".join(f.short for f in mapping.blocking)
        lines.append(f"  Pod Security equivalent: {level} (kept from a stricter level by: {why})")
    else:
        lines.append(f"  Pod Security equivalent: {level}")
    lines.append(f"  {plan.audience.describe(limit=5)}")
    if plan.audience.admins and plan.audience.users:
        names = ", ".join(dict.fromkeys(g.subject.display for g in plan.audience.admins))
        lines.append(f"  (also usable by subjects that hold every permission: {names})")
    if plan.namespaces:
        shown = ", ".join("every namespace" if n == "*" else n for n in plan.namespaces)
        lines.append(f"  admits pods in: {shown}")
    below = mapping.below_restricted
    if below:
        lines.append("  fields below restricted:")
        lines.append(plain_table(
            ["FIELD", "PSP VALUE", "ALLOWS", "BASELINE NEEDS", "RESTRICTED NEEDS"],
            [[f.short, f.value, f.level, f.baseline, f.restricted] for f in below],
            indent=4,
        ).rstrip("\n"))
    fine = [f.short for f in mapping.fields if f.level == RESTRICTED]
    if fine:
        lines.append("  restricted already: " + ", ".join(fine))
    silent = [f.short for f in mapping.fields if f.level == NO_OPINION]
    if silent:
        lines.append("  no Pod Security equivalent (no opinion): " + ", ".join(silent))
    if mapping.mutations:
        lines.append("  set on pods by the PSP, to write into the pod specs (Pod Security admission never mutates):")
        for field in mapping.mutations:
            lines.append(f"    - {field.short}: {field.mutates}")
    return "\n".join(lines)


def _namespace_text(plan: NamespacePlan) -> str:
    psps = ", ".join(f"{name} ({level})" for name, level in plan.psps)
    lines = [f"{plan.display}: enforce {plan.level} (PSPs usable there: {psps})"]
    for key, value in plan.labels.items():
        current = plan.current.get(key)
        note = "" if current is None else (" (already set)" if current == value else f" (now: {current})")
        lines.append(f"    {key}: {value}{note}")
    lines.append(f"  {plan.kubectl()}")
    if plan.namespace != "*":
        counts = {level: len(names) for level, names in plan.workloads.items()}
        if not any(counts.values()):
            lines.append("  no workload of the input runs there")
        else:
            parts = ", ".join(f"{n} pass {lv}" if lv != "privileged" else f"{n} need privileged"
                              for lv, n in reversed(list(counts.items())) if n)
            lines.append(f"  workloads of the input: {parts}")
            strictest = plan.strictest_passing
            if strictest and strictest != plan.level and strictest != "privileged":
                lines.append(
                    f"  every workload of the input there passes {strictest}: consider enforcing "
                    f"{strictest} once no other pods rely on the PSP's looser rules"
                )
    else:
        lines.append(
            "  cluster-wide grants: set these levels as the PodSecurity admission "
            "configuration's defaults, or label every namespace"
        )
    return "\n".join(lines)


def migration_text(plan: MigrationPlan) -> str:
    if not plan.psps:
        return "No PodSecurityPolicy in the input.\n"
    out = []
    if plan.inert:
        out.append(
            f"Kubernetes {plan.kube_version} has no PodSecurityPolicy: these policies do nothing "
            "there; the labels below give back the protection they were meant to give.\n"
        )
    out.append("\n\n".join(_psp_text(p) for p in plan.psps))
    out.append("")
    if plan.namespaces:
        out.append("Namespace labels to set instead (a pod could pass through any PSP usable in its "
                   "namespace, so the least strict level wins):")
        out.append("\n".join(_namespace_text(n) for n in plan.namespaces))
    else:
        out.append("No namespace uses these PodSecurityPolicies (no RBAC grant of `use` on them).")
    return "\n".join(out) + "\n"


def migration_json(plan: MigrationPlan) -> str:
    return json.dumps(plan.to_dict(), indent=2) + "\n"
