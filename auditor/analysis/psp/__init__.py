"""Legacy PodSecurityPolicy (policy/v1beta1): audit, grading by audience, and migration.

* :mod:`.model`: PSP objects read as the API server held them; :func:`psp_inert` for
  clusters of 1.25 and later, where PSPs do nothing;
* :mod:`.checks`: what a PSP lets pods do that it should not (the ``psp`` rule pack);
* :mod:`.usage`: who may ``use`` each PSP, from the RBAC model (the pod's creator or its
  ServiceAccount, in the pod's namespace);
* :mod:`.mapping`: the field-by-field Pod Security Standards equivalent of a PSP, after the
  Kubernetes "Mapping PodSecurityPolicies to Pod Security Standards" reference;
* :mod:`.migrate`: the migration plan (namespace labels to set instead);
* :mod:`.analyzers`: the analyzers behind ``policies/psp.yaml``.
"""

from .mapping import BASELINE, PRIVILEGED, RESTRICTED, FieldMapping, PSSMapping, map_psp
from .migrate import MigrationPlan, NamespacePlan, PSPPlan, namespace_labels, plan_migration
from .model import PSP, parse_kube_version, parse_psp, psp_inert, psps_of
from .usage import Audience, UseGrant, use_grants

__all__ = [
    "BASELINE",
    "PRIVILEGED",
    "PSP",
    "RESTRICTED",
    "Audience",
    "FieldMapping",
    "MigrationPlan",
    "NamespacePlan",
    "PSPPlan",
    "PSSMapping",
    "UseGrant",
    "map_psp",
    "namespace_labels",
    "parse_kube_version",
    "parse_psp",
    "plan_migration",
    "psp_inert",
    "psps_of",
    "use_grants",
]
