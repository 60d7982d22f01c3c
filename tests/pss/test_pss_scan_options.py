"""``scan --pss-level/--pss-version`` and the config's ``pss:`` block."""

from __future__ import annotations

import json

import pytest
from psskit import container, pod, pod_spec, run, write


@pytest.fixture
def manifests(tmp_path):
    return {
        # fails restricted only
        "rooter": write(tmp_path / "rooter.yaml", pod(pod_spec(container(hardened=False), hardened=False), name="rooter")),
        # fails baseline from v1.34 only
        "probe": write(tmp_path / "probe.yaml", pod(pod_spec(
            container(livenessProbe={"tcpSocket": {"host": "10.0.0.1", "port": 80}})), name="probe")),
    }


def pss_rules(*args: str) -> list[str]:
    result = run("scan", *args, "--format", "json", "--fail-on", "none")
    assert result.exit_code == 0, result.output
    return sorted({f["rule"] for f in json.loads(result.stdout)["findings"] if f["rule"].startswith("KA-PSS")})


def test_default_is_restricted_latest(manifests):
    assert pss_rules(manifests["rooter"]) == ["KA-PSS-013", "KA-PSS-014", "KA-PSS-017", "KA-PSS-019"]
    assert pss_rules(manifests["probe"]) == ["KA-PSS-012"]


def test_flags_choose_level_and_version(manifests):
    assert pss_rules(manifests["rooter"], "--pss-level", "baseline") == []
    assert pss_rules(manifests["probe"], "--pss-version", "v1.33") == []
    assert pss_rules(manifests["probe"], "--pss-version", "v1.34") == ["KA-PSS-012"]
    assert pss_rules(manifests["probe"], "--pss-level", "baseline", "--pss-version", "latest") == ["KA-PSS-012"]


def test_the_config_sets_them_and_flags_win(manifests, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("pss:\n  level: baseline\n  version: v1.33\n", encoding="utf-8")
    assert pss_rules(manifests["rooter"], "--config", str(config)) == []
    assert pss_rules(manifests["probe"], "--config", str(config)) == []
    assert pss_rules(manifests["probe"], "--config", str(config), "--pss-version", "latest") == ["KA-PSS-012"]
    assert pss_rules(manifests["rooter"], "--config", str(config), "--pss-level", "restricted") == [
        "KA-PSS-013", "KA-PSS-014", "KA-PSS-017", "KA-PSS-019"
    ]


@pytest.mark.parametrize("version", ["v2.0", "1.030", "newest", ""])
def test_an_invalid_version_is_a_one_line_error(manifests, version):
    result = run("scan", manifests["rooter"], "--pss-version", version)
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kube-auditor: error: --pss-version: invalid policy version")


def test_an_invalid_config_version_is_a_one_line_error(manifests, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("pss:\n  version: v1.x\n", encoding="utf-8")
    result = run("scan", manifests["rooter"], "--config", str(config))
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"kube-auditor: error: {config}: pss.version: invalid policy version 'v1.x': must be \"latest\" or \"v1.N\""
    )
    # the flag wins over a bad config value too
    assert run("scan", manifests["rooter"], "--config", str(config), "--pss-version", "v1.30", "--fail-on", "none").exit_code == 0


def test_an_invalid_level_is_a_usage_error(manifests):
    assert run("scan", manifests["rooter"], "--pss-level", "privileged").exit_code == 2
