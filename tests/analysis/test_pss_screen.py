"""The screen may only ever *skip* checks that pass: screened evaluation must equal
exhaustive evaluation. Held to that on seeded random pods that mix good, bad and
wrongly-typed values in every field any check reads (which also proves malformed
input never raises).
"""

from __future__ import annotations

import random

import pytest

from auditor.analysis.pss import evaluate_pod
from auditor.analysis.pss.evaluator import evaluate_pod_exhaustively
from auditor.analysis.pss.screen import EVERY_CHECK, suspect_checks

WEIRD = [None, "x", "", 0, 1, True, False, [], {}, ["x"], {"a": 1}, 2.5]
VERSIONS = ["v1.0", "v1.8", "v1.19", "v1.22", "v1.25", "v1.31", "v1.34", "v1.35", "latest"]


def pick(rng: random.Random, *pools: list) -> object:
    """A value from one of the pools or from WEIRD (wrong types, empties, nulls)."""
    return rng.choice(rng.choice([pool for pool in pools if pool] + [WEIRD]))


def maybe(rng: random.Random, target: dict, key: str, value_factory, chance: float = 0.35) -> None:
    if rng.random() < chance:
        target[key] = value_factory()


def profile(rng, good, bad):
    if rng.random() < 0.15:
        return pick(rng, [])
    return {"type": pick(rng, good, bad)} if rng.random() < 0.9 else {}


def security_context(rng: random.Random, pod_level: bool) -> object:
    if rng.random() < 0.1:
        return pick(rng, [])
    sc: dict = {}
    maybe(rng, sc, "runAsNonRoot", lambda: pick(rng, [True], [False]))
    maybe(rng, sc, "runAsUser", lambda: pick(rng, [1000, 65532], [0]))
    maybe(
        rng,
        sc,
        "seccompProfile",
        lambda: profile(rng, ["RuntimeDefault", "Localhost"], ["Unconfined", "runtime/default"]),
    )
    maybe(
        rng,
        sc,
        "appArmorProfile",
        lambda: profile(rng, ["RuntimeDefault", "Localhost"], ["Unconfined"]),
    )
    maybe(
        rng,
        sc,
        "seLinuxOptions",
        lambda: {
            "type": pick(rng, ["container_t", "", "container_engine_t"], ["spc_t"]),
            **({"user": pick(rng, ["", "u"])} if rng.random() < 0.3 else {}),
            **({"role": pick(rng, ["", "r"])} if rng.random() < 0.3 else {}),
        },
        0.2,
    )
    maybe(
        rng,
        sc,
        "windowsOptions",
        lambda: (
            {"hostProcess": pick(rng, [False], [True])} if rng.random() < 0.9 else pick(rng, [])
        ),
        0.15,
    )
    if pod_level:
        maybe(
            rng,
            sc,
            "sysctls",
            lambda: [
                {
                    "name": pick(
                        rng,
                        [
                            "kernel.shm_rmid_forced",
                            "net.ipv4.tcp_rmem",
                            "net.ipv4.tcp_notsent_lowat",
                        ],
                        ["vm.swappiness"],
                    )
                }
                if rng.random() < 0.85
                else pick(rng, [])
                for _ in range(rng.randint(0, 3))
            ],
            0.2,
        )
        return sc
    maybe(rng, sc, "privileged", lambda: pick(rng, [False], [True]))
    maybe(rng, sc, "allowPrivilegeEscalation", lambda: pick(rng, [False], [True]), 0.6)
    maybe(rng, sc, "procMount", lambda: pick(rng, ["Default"], ["Unmasked"]), 0.2)
    maybe(
        rng,
        sc,
        "capabilities",
        lambda: (
            {
                **(
                    {"drop": pick(rng, [["ALL"], ["ALL", "NET_RAW"]], [["NET_RAW"], [], "ALL"])}
                    if rng.random() < 0.8
                    else {}
                ),
                **(
                    {
                        "add": pick(
                            rng, [["NET_BIND_SERVICE"], ["CHOWN"]], [["NET_RAW"], ["chown"], [None]]
                        )
                    }
                    if rng.random() < 0.4
                    else {}
                ),
            }
            if rng.random() < 0.9
            else pick(rng, [])
        ),
        0.6,
    )
    return sc


def handler(rng: random.Random) -> object:
    if rng.random() < 0.1:
        return pick(rng, [])
    action = rng.choice(["httpGet", "tcpSocket", "exec"])
    details: dict = {"port": 8080}
    maybe(rng, details, "host", lambda: pick(rng, [""], ["10.0.0.1", "::1"]), 0.4)
    return {action: details if rng.random() < 0.9 else pick(rng, [])}


def container(rng: random.Random, name: str) -> object:
    if rng.random() < 0.04:
        return pick(rng, [])
    ctr: dict = {"name": pick(rng, [name, name, name], [None, 7])} if rng.random() < 0.95 else {}
    maybe(rng, ctr, "securityContext", lambda: security_context(rng, pod_level=False), 0.75)
    maybe(
        rng,
        ctr,
        "ports",
        lambda: (
            [
                {
                    "containerPort": 80,
                    **({"hostPort": pick(rng, [0], [80, 8080])} if rng.random() < 0.5 else {}),
                }
                if rng.random() < 0.9
                else pick(rng, [])
                for _ in range(rng.randint(0, 2))
            ]
            if rng.random() < 0.95
            else pick(rng, [])
        ),
        0.3,
    )
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        maybe(rng, ctr, probe, lambda: handler(rng), 0.2)
    maybe(
        rng,
        ctr,
        "lifecycle",
        lambda: (
            {hook: handler(rng) for hook in ("postStart", "preStop") if rng.random() < 0.6}
            if rng.random() < 0.9
            else pick(rng, [])
        ),
        0.15,
    )
    maybe(rng, ctr, "restartPolicy", lambda: "Always", 0.1)
    return ctr


def volume(rng: random.Random, index: int) -> object:
    if rng.random() < 0.05:
        return pick(rng, [])
    source = rng.choice(
        ["configMap", "secret", "emptyDir", "image", "hostPath", "nfs", "gitRepo", None]
    )
    vol: dict = {"name": f"v{index}"}
    if source is not None:
        vol[source] = {} if rng.random() < 0.9 else pick(rng, [])
    return vol


def random_pod(rng: random.Random) -> tuple[object, object]:
    spec: dict = {}
    for kind in ("initContainers", "containers", "ephemeralContainers"):
        if rng.random() < (0.95 if kind == "containers" else 0.35):
            spec[kind] = (
                [container(rng, f"{kind[:4]}{i}") for i in range(rng.randint(0, 3))]
                if rng.random() < 0.95
                else pick(rng, [])
            )
    maybe(rng, spec, "securityContext", lambda: security_context(rng, pod_level=True), 0.7)
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        maybe(rng, spec, flag, lambda: pick(rng, [False], [True]), 0.1)
    maybe(rng, spec, "hostUsers", lambda: pick(rng, [True], [False]), 0.2)
    maybe(
        rng,
        spec,
        "os",
        lambda: (
            {"name": pick(rng, ["linux"], ["windows"])} if rng.random() < 0.9 else pick(rng, [])
        ),
        0.2,
    )
    maybe(
        rng,
        spec,
        "volumes",
        lambda: (
            [volume(rng, i) for i in range(rng.randint(0, 3))]
            if rng.random() < 0.95
            else pick(rng, [])
        ),
        0.4,
    )
    annotations: dict = {}
    for _ in range(rng.randint(0, 2)):
        key = rng.choice(
            [
                "container.apparmor.security.beta.kubernetes.io/cont0",
                "container.seccomp.security.alpha.kubernetes.io/cont1",
                "seccomp.security.alpha.kubernetes.io/pod",
                "example.com/other",
            ]
        )
        annotations[key] = pick(
            rng, ["runtime/default", "localhost/p", ""], ["unconfined", "docker/default"]
        )
    metadata: object = {"name": "p", "annotations": annotations} if annotations else {"name": "p"}
    if rng.random() < 0.03:
        metadata = pick(rng, [])
    if rng.random() < 0.02:
        spec = pick(rng, [])
    return metadata, spec


@pytest.mark.parametrize("seed", range(8))
def test_screened_evaluation_equals_exhaustive(seed):
    rng = random.Random(seed)
    for _ in range(250):
        metadata, spec = random_pod(rng)
        for level in ("baseline", "restricted"):
            for version in VERSIONS:
                screened = evaluate_pod(metadata, spec, level, version)
                exhaustive = evaluate_pod_exhaustively(metadata, spec, level, version)
                assert screened.violations == exhaustive.violations, (
                    metadata,
                    spec,
                    level,
                    version,
                )


def test_random_pods_exercise_the_screen():
    """The generator must reach both the screen's fast path and its give-up path."""
    rng = random.Random(99)
    masks = {suspect_checks(*random_pod(rng)) for _ in range(500)}
    assert EVERY_CHECK in masks
    assert len(masks) > 50
