"""The pinned binaries: the install script, the versions, and the skip/fail policy of the tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest
from rendertools import (
    INSTALL_HINT,
    INSTALL_SCRIPT,
    cache_bin_dir,
    missing,
    pinned_versions,
    require_tool,
)


def test_pins_are_semantic_versions():
    versions = pinned_versions()
    assert versions["HELM_VERSION"].startswith("v3.")
    assert versions["KUSTOMIZE_VERSION"].startswith("v5.")


def test_missing_binary_skips_locally_and_fails_in_ci(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("KUBE_AUDITOR_TOOLS_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="helm is not installed: run: PATH="):
        require_tool("helm")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="kustomize is not installed"):
        require_tool("kustomize")


def test_install_script_reuses_cached_binaries():
    """With the binaries cached (CI installs them first), the script only checks them."""
    directory = cache_bin_dir()
    if not ((directory / "helm").exists() and (directory / "kustomize").exists()):
        missing(f"helm and kustomize are not in {directory}: {INSTALL_HINT}")
    started = time.monotonic()
    done = subprocess.run(["bash", str(INSTALL_SCRIPT)], capture_output=True, text=True, check=True,
                          env={**os.environ, "PATH": os.environ.get("PATH", "")})
    assert time.monotonic() - started < 30
    assert done.stdout.strip().splitlines()[-1] == str(directory)
    assert "already installed, reusing" in done.stderr
    versions = pinned_versions()
    helm = subprocess.run([str(directory / "helm"), "version", "--template", "{{.Version}}"],
                          capture_output=True, text=True, check=True)
    assert helm.stdout.strip() == versions["HELM_VERSION"]
    kustomize = subprocess.run([str(directory / "kustomize"), "version"], capture_output=True, text=True, check=True)
    assert kustomize.stdout.strip() == versions["KUSTOMIZE_VERSION"]


def test_install_script_is_shellcheck_clean():
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed")
    subprocess.run(["shellcheck", str(INSTALL_SCRIPT)], check=True)
