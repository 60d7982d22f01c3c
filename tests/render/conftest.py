"""Fixtures for the Helm and Kustomize tests: the real binaries on PATH."""

from __future__ import annotations

import pytest
from rendertools import put_on_path


@pytest.fixture
def helm(monkeypatch):
    put_on_path(monkeypatch, "helm")


@pytest.fixture
def kustomize(monkeypatch):
    put_on_path(monkeypatch, "kustomize")
