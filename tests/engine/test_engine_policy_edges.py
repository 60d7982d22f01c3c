"""Edge cases of the built-in rules whose checks are patterns: one row per case.

The fixtures (fixtures/rules) show each rule on a realistic manifest; these tables pin the
patterns' boundaries, which a realistic manifest can only show a few of.
"""

from __future__ import annotations

import pytest
from enginekit import container, evaluate, pod

from auditor.engine.rules import load_packs
from auditor.resources import builtin_policy_dir

RULES = {r.id: r for p in load_packs([builtin_policy_dir()]) for r in p.rules}
DIGEST = "sha256:" + "ab" * 32

IMAGES = [
    # (image, KA-CTR-004 no fixed tag, KA-CTR-005 not pinned by digest)
    ("nginx", True, True),
    ("nginx:latest", True, True),
    ("nginx:1.27.2", False, True),
    ("library/nginx", True, True),
    ("docker.io/library/nginx:latest", True, True),
    ("reg:5000/app", True, True),  # the port is not a tag
    ("reg:5000/app:latest", True, True),
    ("reg:5000/app:1.0", False, True),
    ("localhost:5000/team/app", True, True),
    ("ghcr.io/acme/app:latest-alpine", False, True),  # a tag of its own, not latest
    ("nginx:Latest", False, True),  # tags are case-sensitive: 'Latest' is a fixed (odd) tag
    (f"nginx@{DIGEST}", False, False),
    (f"nginx:1.27.2@{DIGEST}", False, False),
    (f"nginx:latest@{DIGEST}", False, False),  # the digest decides what runs
    (f"reg:5000/app@{DIGEST}", False, False),
    ("nginx@sha256:abc", False, True),  # too short to be a digest
]


@pytest.mark.parametrize("image, unfixed, unpinned", IMAGES, ids=[i[0] for i in IMAGES])
def test_image_rules(image, unfixed, unpinned):
    found = {f.rule for f in evaluate([RULES["KA-CTR-004"], RULES["KA-CTR-005"]],
                                      [pod(container("app", image))])}
    assert ("KA-CTR-004" in found, "KA-CTR-005" in found) == (unfixed, unpinned)


ENV = [
    # (name, value, KA-CTR-010 fires)
    ("DB_PASSWORD", "s3cret", True),
    ("password", "s3cret", True),
    ("MYSQL_ROOT_PASSWORD", "password", True),
    ("DB_PASSWD", "x", True),
    ("DB_PWD", "x", True),
    ("SMTP_PASS", "x", True),
    ("API_KEY", "x", True),
    ("APIKEY", "x", True),
    ("STRIPE_SECRET_KEY", "sk_live_x", True),
    ("GITHUB_TOKEN", "ghp_x", True),
    ("AWS_ACCESS_KEY", "AKIA", True),
    ("OAUTH_CLIENT_SECRET", "x", True),
    ("GOOGLE_CREDENTIALS", "{}", True),
    ("TLS_PRIVATE_KEY", "-----BEGIN", True),
    ("DB_PASSWORD", "", False),  # empty
    ("DB_PASSWORD", " ", False),  # blank
    ("DB_PASSWORD", "$(DB_PASSWORD_FROM_SECRET)", False),  # a reference to another variable
    ("DB_PASSWORD_FILE", "/run/secrets/db", False),  # names a file
    ("TOKEN_TTL", "3600", False),
    ("PASSWORD_MIN_LENGTH", "12", False),
    ("BYPASS", "true", False),  # not *_PASS
    ("PWD", "/srv/app", False),  # the working directory, not a password
    ("OLDPWD", "/", False),
]


@pytest.mark.parametrize("name, value, fires", ENV, ids=[f"{n}={v!r}" for n, v, _ in ENV])
def test_literal_credentials(name, value, fires):
    obj = pod(container("app", env=[{"name": name, "value": value}]))
    assert bool(evaluate(RULES["KA-CTR-010"], [obj])) is fires


def test_credential_from_a_secret_is_not_literal_but_is_an_env_secret():
    env = [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}]
    obj = pod(container("app", env=env))
    assert not evaluate(RULES["KA-CTR-010"], [obj])
    assert evaluate(RULES["KA-CTR-011"], [obj])
