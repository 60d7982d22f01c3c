"""Turn findings into changes: fixed manifests, and generated remediation objects.

* :mod:`.fix` rewrites manifests so that findings with a mechanical fix go away, keeping
  every unrelated byte of the files (:mod:`.textedit`); :mod:`.fixers` says what may be
  changed for which finding, and when it is safe;
* :mod:`.plan` writes, per namespace, the objects a cluster needs: NetworkPolicies
  (:mod:`.netpol`), least-privilege RBAC (:mod:`.rbac`, from an audit log) and Pod Security
  Admission labels (:mod:`.psa`), and a PLAN.md saying what each blocks and may break.

It works on an :class:`~auditor.inventory.Inventory`, whatever its source (files today, a
live cluster later), and imports inventory, engine and analysis only.
"""
