"""One module per Pod Security control; each function is one upstream check revision.

A revision takes a ``PodView`` and returns ``None`` (allowed) or a ``Violation`` whose
reason and detail reproduce PSA's wording. Each module owns its checks' upstream ids.
Revisions are named ``<check>_v1_<minor>`` after the policy version they start at;
``registry.py`` wires them to versions.
"""
