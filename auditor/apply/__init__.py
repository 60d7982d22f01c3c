"""Get changes into a cluster safely, and out again.

:mod:`.apply`: server-side apply (field manager ``kube-auditor``) after a server-side dry
run and a diff against the live objects, with a backup written before the first change;
:mod:`.rollback`: restore the backed-up objects exactly and delete only what apply created.
Imports the inventory (to read manifests) and the official Kubernetes client, nothing else.
"""

from .apply import ApplyPlan, ApplyResult, Change, execute, load_manifests, plan_apply
from .cluster import FIELD_MANAGER, Cluster, ClusterError, ObjectRef
from .rollback import RollbackResult, read_backup, rollback

__all__ = [
    "FIELD_MANAGER",
    "ApplyPlan",
    "ApplyResult",
    "Change",
    "Cluster",
    "ClusterError",
    "ObjectRef",
    "RollbackResult",
    "execute",
    "load_manifests",
    "plan_apply",
    "read_backup",
    "rollback",
]
