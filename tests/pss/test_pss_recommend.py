"""``kube-auditor pss recommend``: the strictest level each namespace's workloads pass."""

from __future__ import annotations

import json

import pytest
from psskit import LABEL, container, deployment, namespace, pod, pod_spec, run, write

from auditor.analysis.pss_rules import recommend
from auditor.inventory import Inventory

UNHARDENED = pod_spec(container(hardened=False), hardened=False)
PROBE = pod_spec(container(livenessProbe={"httpGet": {"host": "metadata", "port": 80}}))

OBJECTS = [
    namespace("strict"),
    namespace("empty", enforce="baseline", enforce_version="v1.29"),
    deployment(pod_spec(), name="hardened", namespace="strict"),
    deployment(UNHARDENED, name="plain", namespace="web"),
    pod(pod_spec(), name="fine", namespace="web"),
    deployment(pod_spec(hostNetwork=True), name="hostnet", namespace="infra"),
    deployment(UNHARDENED, name="plain", namespace="infra"),
    deployment(PROBE, name="probe", namespace="probes"),
]


def levels(version="latest"):
    return {
        r.policy.name: (r.level.value, r.next_level.value if r.next_level else None,
                        [b.template.resource.name for b in r.blockers], r.workloads)
        for r in recommend(Inventory.from_dicts(OBJECTS), version)
    }


def test_levels_and_blockers():
    assert levels() == {
        "empty": ("restricted", None, [], 0),
        "infra": ("privileged", "baseline", ["hostnet"], 2),
        "probes": ("privileged", "baseline", ["probe"], 1),
        "strict": ("restricted", None, [], 1),
        "web": ("baseline", "restricted", ["plain"], 2),
    }


def test_version_matters():
    assert levels("v1.33")["probes"] == ("restricted", None, [], 1)  # the probe check is v1.34+


@pytest.fixture
def manifest(tmp_path):
    return write(tmp_path / "all.yaml", *OBJECTS)


def test_json(manifest):
    result = run("pss", "recommend", manifest, "--version", "v1.30", "--format", "json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert list(document) == ["version", "namespaces"]
    assert document["version"] == "v1.30"
    by_name = {entry["namespace"]: entry for entry in document["namespaces"]}
    assert list(by_name) == ["empty", "infra", "probes", "strict", "web"]
    for entry in document["namespaces"]:
        assert list(entry) == ["namespace", "declared", "enforce", "workloads", "recommended", "labels", "blocking"]
    assert by_name["empty"]["enforce"] == {"level": "baseline", "version": "v1.29", "labelled": True}
    assert by_name["strict"]["enforce"] == {"level": "privileged", "version": "latest", "labelled": False}
    assert by_name["web"]["declared"] is False and by_name["web"]["enforce"] is None
    assert by_name["web"]["labels"] == {LABEL + "enforce": "baseline", LABEL + "enforce-version": "v1.30"}
    assert by_name["strict"]["blocking"] is None
    assert by_name["probes"]["recommended"] == "restricted"  # v1.30: no probe check yet
    blocking = by_name["infra"]["blocking"]
    assert blocking["level"] == "baseline"
    (workload,) = blocking["workloads"]
    assert list(workload) == ["object", "source", "violations"]
    assert workload["object"] == {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "infra", "name": "hostnet"}
    assert workload["violations"] == [
        {"check": "hostNamespaces", "message": "host namespaces (hostNetwork=true)", "containers": []}
    ]


def test_table(manifest):
    result = run("pss", "recommend", manifest)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "Pod Security levels each namespace's workloads pass at policy latest"
    table = [line.split() for line in lines[2:8]]
    assert table == [
        ["NAMESPACE", "WORKLOADS", "ENFORCES", "NOW", "RECOMMENDED"],
        ["empty", "0", "baseline:v1.29", "restricted"],
        ["infra", "2", "?", "(not", "declared)", "privileged"],
        ["probes", "1", "?", "(not", "declared)", "privileged"],
        ["strict", "1", "privileged", "(no", "label)", "restricted"],
        ["web", "2", "?", "(not", "declared)", "baseline"],
    ]
    assert "web: restricted is blocked by" in lines
    assert "infra: baseline is blocked by" in lines
    assert "    - host namespaces (hostNetwork=true)" in lines


def test_bad_version_and_input(manifest, tmp_path):
    bad = run("pss", "recommend", manifest, "--version", "v1")
    assert bad.exit_code == 2 and bad.stderr.startswith("kube-auditor: error: --version: invalid policy version 'v1'")
    assert run("pss", "recommend", str(tmp_path / "missing.yaml")).exit_code == 2
    assert run("pss", "recommend").exit_code == 2


def test_workshop():
    result = run("pss", "recommend", "--workshop", "--format", "json")
    assert result.exit_code == 0
    recommended = {e["namespace"]: e["recommended"] for e in json.loads(result.stdout)["namespaces"]}
    assert recommended == {"default": "baseline", "kube-system": "baseline", "psp-example": "restricted"}
