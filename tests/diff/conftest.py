"""Fixtures for the diff tests: a repository with the change, the real helm and kustomize."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from diffkit import change_app, commit_all, init_repo, write_app  # puts rendertools on sys.path
from rendertools import put_on_path


@pytest.fixture
def app_repo(tmp_path, monkeypatch) -> Path:
    """A repository whose second commit makes the change; the working directory is its top."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = init_repo(tmp_path / "repo")
    write_app(repo / "manifests")
    commit_all(repo, "the counter app")
    change_app(repo / "manifests")
    commit_all(repo, "loosen redis policy, let the counter list configmaps, drop its securityContext")
    monkeypatch.chdir(repo)
    return repo


@pytest.fixture
def helm(monkeypatch):
    put_on_path(monkeypatch, "helm")


@pytest.fixture
def kustomize(monkeypatch):
    put_on_path(monkeypatch, "kustomize")
