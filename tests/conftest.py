"""Shared pytest fixtures.

This part: the real kube-apiserver harness (tests/harness/apiserver.py) and
the ``e2e`` marker for tests that use it. See docs/development.md.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest

# Make ``harness`` importable whatever pytest's import mode is.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness.apiserver import HarnessError, KubeAPIServer, require_binaries


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "e2e: needs the real kube-apiserver built by e2e/build-binaries.sh"
    )


def pytest_collection_modifyitems(config, items):
    # Anything that touches the real server is e2e, so `-m "not e2e"` skips it all.
    for item in items:
        if "kube_apiserver" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def kube_apiserver(tmp_path_factory):
    """One real etcd + kube-apiserver for the whole session (admin kubeconfig, helpers).

    No controllers, scheduler or nodes: see tests/harness/apiserver.py.
    """
    server = KubeAPIServer(require_binaries(), workdir=tmp_path_factory.mktemp("kube-apiserver"))
    failure = None
    try:
        server.start()
    except HarnessError as exc:
        failure = str(exc)
    if failure:  # outside the except block, so pytest shows just the message
        pytest.fail(failure, pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def e2e_namespace(kube_apiserver):
    """A fresh namespace (with its ``default`` ServiceAccount) for one test; never deleted."""
    return kube_apiserver.ensure_namespace(f"e2e-{uuid.uuid4().hex[:10]}")
