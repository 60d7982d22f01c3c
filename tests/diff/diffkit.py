"""Builders for the diff tests: a small app as plain manifests, the change the issue names
(a NetworkPolicy loosened, a Role that gains a verb, a securityContext removed), and git
repositories made in the test."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "render"))

from rendertools import KUSTOMIZE  # noqa: E402

APP_FILES = ("counter.yaml", "redis.yaml", "networkpolicy.yaml", "rbac.yaml")

#: what the change opens, grants and weakens (see loosen/grant/weaken below)
OPENED = "10.0.0.0-10.255.255.255[External] => default/redis[Deployment] : TCP 6379"


def write_app(directory: Path) -> Path:
    """The counter app with Redis (the Kustomize base's manifests), as plain files."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in APP_FILES:
        shutil.copy(KUSTOMIZE / "base" / name, directory / name)
    return directory


def replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def loosen_policy(directory: Path) -> None:
    """Redis now admits 10.0.0.0/8 besides the counter: one path opened."""
    replace(
        directory / "networkpolicy.yaml",
        "    - from:\n        - podSelector:\n            matchLabels:\n              app: counter\n",
        "    - from:\n        - podSelector:\n            matchLabels:\n              app: counter\n"
        "        - ipBlock:\n            cidr: 10.0.0.0/8\n",
    )


def grant_verb(directory: Path) -> None:
    """The counter's Role gains ``list`` on ConfigMaps."""
    replace(directory / "rbac.yaml", 'verbs: ["get"]', 'verbs: ["get", "list"]')


def weaken_pod(directory: Path) -> None:
    """The counter container loses its securityContext."""
    replace(
        directory / "counter.yaml",
        "          securityContext:\n            allowPrivilegeEscalation: false\n"
        "            readOnlyRootFilesystem: true\n            runAsNonRoot: true\n"
        "            runAsUser: 10001\n            capabilities:\n              drop: [\"ALL\"]\n"
        "            seccompProfile:\n              type: RuntimeDefault\n",
        "",
    )


def change_app(directory: Path) -> None:
    loosen_policy(directory)
    grant_verb(directory)
    weaken_pod(directory)


def git(repo: Path, *args: str) -> str:
    env = dict(os.environ)
    env.update({
        "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.invalid",
        "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.invalid",
        "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
    })
    done = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def init_repo(repo: Path) -> Path:
    repo.mkdir(parents=True, exist_ok=True)
    git(repo, "init", "-q", "-b", "main")
    return repo


def commit_all(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")
