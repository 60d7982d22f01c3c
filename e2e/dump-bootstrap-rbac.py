#!/usr/bin/env python3
"""Dump the bootstrap RBAC of the pinned Kubernetes release to a YAML file.

Starts a real etcd + kube-apiserver with the e2e harness (binaries from
e2e/build-binaries.sh), reads the ClusterRoles and ClusterRoleBindings
labelled kubernetes.io/bootstrapping=rbac-defaults plus every aggregated
ClusterRole, strips server-populated metadata, and writes them as
multi-document YAML. The auditor ships the result as
auditor/analysis/rbac/data/bootstrap-rbac.yaml; tests/e2e/test_bootstrap_rbac.py
fails when that copy and the server disagree.

Usage: python e2e/dump-bootstrap-rbac.py OUT.yaml
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests"))

from harness import rbac
from harness.apiserver import HarnessError, KubeAPIServer, find_binaries


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0].startswith("-"):
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    out = Path(argv[0])
    t0 = time.monotonic()
    try:
        with KubeAPIServer(find_binaries()) as server:
            docs = rbac.bootstrap_rbac_documents(server)
            text = rbac.render(docs, server.version)
            version = server.version
    except HarnessError as exc:
        print(f"dump-bootstrap-rbac: {exc}", file=sys.stderr)
        return 1
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    roles = sum(d["kind"] == "ClusterRole" for d in docs)
    print(
        f"wrote {out}: {roles} ClusterRoles, {len(docs) - roles} ClusterRoleBindings "
        f"from Kubernetes {version} in {time.monotonic() - t0:.1f}s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
