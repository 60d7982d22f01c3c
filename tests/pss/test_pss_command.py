"""``kube-auditor pss``: PSA's verdict per Pod and workload template, its JSON and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from psskit import container, cronjob, deployment, namespace, pod, pod_spec, run, run_json, write

from auditor.cli import main

ROOTER = pod(pod_spec(container("rooter", hardened=False), hardened=False), name="rooter")
CLEAN = pod(pod_spec(container("app")), name="clean")
PRIVILEGED = deployment(
    pod_spec(container("app", securityContext={"privileged": True}), container("proxy", securityContext={"privileged": True})),
    name="agent",
)


@pytest.fixture
def files(tmp_path):
    return {
        "mixed": write(tmp_path / "mixed.yaml", ROOTER, CLEAN, PRIVILEGED),
        "clean": write(tmp_path / "clean.yaml", CLEAN),
        "rooter": write(tmp_path / "rooter.yaml", ROOTER),
        "config": write(tmp_path / "config.yaml", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}),
    }


def test_json_shape_exactly(files):
    code, document = run_json("pss", files["mixed"], "--level", "restricted", "--version", "v1.30")
    assert code == 1
    assert list(document) == ["level", "version", "results"]
    assert document["level"] == "restricted" and document["version"] == "v1.30"
    first, clean, agent = document["results"]
    for entry in document["results"]:
        assert list(entry) == ["object", "source", "allowed", "violations"]
        assert list(entry["object"]) == ["apiVersion", "kind", "namespace", "name"]
        assert list(entry["source"]) == ["file", "line"]
        for violation in entry["violations"]:
            assert list(violation) == ["check", "message", "containers"]
    assert first == {
        "object": {"apiVersion": "v1", "kind": "Pod", "namespace": "shop", "name": "rooter"},
        "source": {"file": files["mixed"], "line": 1},
        "allowed": False,
        "violations": [
            {"check": "allowPrivilegeEscalation",
             "message": 'allowPrivilegeEscalation != false (container "rooter" must set securityContext.allowPrivilegeEscalation=false)',
             "containers": ["rooter"]},
            {"check": "capabilities_restricted",
             "message": 'unrestricted capabilities (container "rooter" must set securityContext.capabilities.drop=["ALL"])',
             "containers": ["rooter"]},
            {"check": "runAsNonRoot",
             "message": 'runAsNonRoot != true (pod or container "rooter" must set securityContext.runAsNonRoot=true)',
             "containers": ["rooter"]},
            {"check": "seccompProfile_restricted",
             "message": 'seccompProfile (pod or container "rooter" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
             "containers": ["rooter"]},
        ],
    }
    assert clean["allowed"] is True and clean["violations"] == []
    assert agent["object"]["kind"] == "Deployment"
    assert agent["violations"][0] == {
        "check": "privileged",
        "message": 'privileged (containers "app", "proxy" must not set securityContext.privileged=true)',
        "containers": ["app", "proxy"],
    }


def test_defaults_are_restricted_latest(files):
    code, document = run_json("pss", files["clean"])
    assert (code, document["level"], document["version"]) == (0, "restricted", "latest")


def test_levels(files):
    assert run_json("pss", files["rooter"], "--level", "baseline")[0] == 0
    assert run_json("pss", files["rooter"], "--level", "restricted")[0] == 1
    code, document = run_json("pss", files["mixed"], "--level", "baseline")
    assert code == 1
    assert [r["allowed"] for r in document["results"]] == [True, True, False]


def test_versions(tmp_path):
    as_root = pod(pod_spec(container(securityContext={"runAsUser": 0})), name="zero")
    path = write(tmp_path / "zero.yaml", as_root)
    assert run_json("pss", path, "--version", "v1.22")[0] == 0  # runAsUser arrived in v1.23
    code, document = run_json("pss", path, "--version", "v1.23")
    assert code == 1 and document["results"][0]["violations"][0]["check"] == "runAsUser"
    assert run_json("pss", path, "--version", "1.23")[1]["version"] == "v1.23"  # 1.N is accepted


def test_check_is_the_default_subcommand(files):
    assert run("pss", files["mixed"], "--format", "json").stdout == run("pss", "check", files["mixed"], "--format", "json").stdout


def test_no_pod_specs_means_nothing_denied(files):
    code, document = run_json("pss", files["config"])
    assert code == 0 and document["results"] == []


@pytest.mark.parametrize(
    "args, message",
    [
        (["--version", "v2.0"], "kube-auditor: error: --version: invalid policy version 'v2.0': must be \"latest\" or \"v1.N\""),
        (["--version", "1.030"], "kube-auditor: error: --version: invalid policy version '1.030'"),
    ],
)
def test_a_bad_version_is_exit_2_in_one_line(files, args, message):
    result = run("pss", files["mixed"], *args)
    assert result.exit_code == 2 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith(message)


def test_bad_input_is_exit_2(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("kind: Pod\nmetadata: [\n", encoding="utf-8")
    result = run("pss", str(broken))
    assert result.exit_code == 2 and result.stderr.startswith("kube-auditor: error:")
    assert run("pss", str(tmp_path / "missing.yaml")).exit_code == 2
    assert run("pss", "--level", "privileged", str(broken)).exit_code == 2
    assert run("pss").exit_code == 2  # nothing to read


def test_namespace_labels_conflict_with_level_and_version(files):
    assert run("pss", files["mixed"], "--namespace-labels", "--level", "baseline").exit_code == 2
    assert run("pss", files["mixed"], "--namespace-labels", "--version", "v1.30").exit_code == 2


def test_stdin(files):
    text = Path(files["rooter"]).read_text(encoding="utf-8")
    result = CliRunner().invoke(main, ["pss", "-", "--format", "json"], input=text)
    assert result.exit_code == 1
    assert json.loads(result.stdout)["results"][0]["source"]["file"] == "<stdin>"


def test_table(files):
    result = run("pss", files["mixed"])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == f"DENIED   Pod shop/rooter ({files['mixed']}:1)"
    assert any(line.startswith("allowed  Pod shop/clean (") for line in lines)
    assert "         PSA enforce admits the Deployment but rejects each pod it creates:" in lines
    assert '         - privileged (containers "app", "proxy" must not set securityContext.privileged=true)' in lines
    assert lines[-1] == '2 of 3 object(s) with a pod spec denied at PodSecurity "restricted:latest"'


# ---------------------------------------------------------------------------------------
# --namespace-labels


def test_namespace_labels_mode(tmp_path):
    path = write(
        tmp_path / "all.yaml",
        namespace("strict", enforce="restricted", enforce_version="v1.30"),
        namespace("base", enforce="baseline"),
        namespace("open"),
        deployment(pod_spec(container(hardened=False), hardened=False), name="a", namespace="strict"),
        deployment(pod_spec(container(hardened=False), hardened=False), name="b", namespace="base"),
        deployment(pod_spec(hostPID=True), name="c", namespace="base"),
        deployment(pod_spec(hostPID=True), name="d", namespace="open"),
        cronjob(pod_spec(hostPID=True), name="e", namespace="undeclared"),
    )
    code, document = run_json("pss", path, "--namespace-labels")
    assert code == 1
    assert document["level"] is None and document["version"] is None
    verdicts = {
        r["object"]["name"]: (r["allowed"], r["level"], r["version"], [v["check"] for v in r["violations"]])
        for r in document["results"]
    }
    assert verdicts == {
        "a": (False, "restricted", "v1.30",
              ["allowPrivilegeEscalation", "capabilities_restricted", "runAsNonRoot", "seccompProfile_restricted"]),
        "b": (True, "baseline", "latest", []),
        "c": (False, "baseline", "latest", ["hostNamespaces"]),
        "d": (True, "privileged", "latest", []),  # no enforce label: PSA's default
        "e": (True, "privileged", "latest", []),  # namespace not declared: labels unknown, default
    }
    for entry in document["results"]:
        assert list(entry) == ["object", "source", "allowed", "violations", "level", "version"]
    table = run("pss", path, "--namespace-labels").stdout
    assert "[namespace strict: restricted:v1.30 (enforce label)]" in table
    assert "[namespace open: privileged:latest (no enforce label: PSA default)]" in table
    assert "[namespace undeclared: privileged:latest (not declared here: PSA default)]" in table


def test_namespace_labels_all_allowed_is_exit_0(tmp_path):
    path = write(tmp_path / "ok.yaml", namespace("shop", enforce="baseline"), ROOTER)
    assert run_json("pss", path, "--namespace-labels")[0] == 0
