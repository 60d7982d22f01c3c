"""The command line: webhook serve / rules, export vap, and the webhook config file."""

from __future__ import annotations

import base64
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.request

import pytest
import yaml
from click.testing import CliRunner
from webhookkit import REPO, free_port

from auditor.cli import main
from auditor.engine.config import ConfigError
from auditor.webhook.config import load_webhook_config


def run(*args: str):
    return CliRunner().invoke(main, list(args))


# ---------------------------------------------------------------------------------------
# The configuration file


def write(tmp_path, text: str, name: str = "webhook.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_config_defaults_and_scan_config_file(tmp_path):
    write(tmp_path, "failOn: medium\nrules:\n  disable: [KA-CTR-008]\n", "scan.yaml")
    config = load_webhook_config(write(tmp_path, "apiVersion: kube-auditor.io/v1\nkind: WebhookConfig\nscanConfigFile: scan.yaml\n"))
    assert config.mode == "enforce"
    assert config.effective_threshold.value == "medium"  # the scan config's failOn
    assert config.scan_config.rules.disable == ["KA-CTR-008"]
    assert config.failure_policy == "Fail" and config.timeouts.on_timeout == "deny"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("mode: loud\n", "webhook.yaml:1: mode: Input should be 'enforce', 'warn' or 'audit'"),
        ("mode: warn\nmoed: audit\n", "webhook.yaml:2: moed: Extra inputs are not permitted"),
        ("timeoutSeconds: 2\ntimeouts:\n  evaluationMs: 2500\n", "timeouts.evaluationMs must be below timeoutSeconds"),
        ("scan: {}\nscanConfigFile: x.yaml\n", "not both"),
        ("mode: warn\nmode: audit\n", "webhook.yaml:2: mode: duplicate key (first at line 1)"),
        ("scan:\n  waivers:\n    - rule: KA-CTR-001\n      reason: ' '\n", "webhook.yaml:4: scan.waivers[0].reason: a waiver needs a reason"),
        ("- a list\n", "not a mapping"),
        ("scanConfigFile: missing.yaml\n", "missing.yaml: No such file or directory"),
    ],
)
def test_config_errors_are_one_line(tmp_path, text, expected):
    with pytest.raises(ConfigError) as error:
        load_webhook_config(write(tmp_path, text))
    message = str(error.value)
    assert expected in message and "\n" not in message


def test_serve_refuses_bad_config_and_missing_tls(tmp_path):
    result = run("webhook", "serve", "--config", str(write(tmp_path, "mode: loud\n")))
    assert result.exit_code == 2 and "mode: Input should be" in result.output
    result = run("webhook", "serve", "--config", str(write(tmp_path, "mode: warn\n", "ok.yaml")))
    assert result.exit_code == 2 and "give tls.certFile and tls.keyFile" in result.output
    config = write(tmp_path, "tls: {certFile: nope.crt, keyFile: nope.key}\n", "tls.yaml")
    result = run("webhook", "serve", "--config", str(config))
    assert result.exit_code == 2 and "nope.crt: no such file" in result.output


def test_webhook_rules_lists_admission_and_skipped():
    result = run("webhook", "rules")
    assert result.exit_code == 0
    lines = dict(line.split("\t")[:2] for line in result.output.splitlines())
    assert lines["KA-CTR-001"] == "admission"
    assert lines["KA-NET-001"] == "skipped"
    assert "needs the whole RBAC graph" in result.output


def test_serve_self_signed_prints_the_ca_bundle_and_stops_on_sigterm(tmp_path):
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "auditor", "webhook", "serve", "--self-signed", "--cert-dir", str(tmp_path),
         "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO, env=env,
    )
    try:
        bundle = process.stdout.readline().decode().strip()
        ca_pem = base64.b64decode(bundle)
        assert ca_pem.startswith(b"-----BEGIN CERTIFICATE-----")
        context = ssl.create_default_context(cadata=ca_pem.decode())
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"https://127.0.0.1:{port}/readyz", context=context, timeout=5) as answer:
                    assert answer.read() == b"ok\n"
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        log = process.stderr.read().decode()
        assert '"event":"start"' in log and "Shutting down" in log
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


# ---------------------------------------------------------------------------------------
# export vap


def test_export_vap_prints_policies_and_lists_what_it_could_not_compile():
    result = CliRunner().invoke(main, ["export", "vap"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("# kube-auditor export vap: ")
    assert "#   not compiled: KA-CTR-007: analyzer serviceaccount.unneeded_token needs the cluster's RoleBindings" in out
    assert "#   not compiled: KA-NET-001: analyzer netpol.namespaces_without_policy needs the whole inventory" in out
    docs = [d for d in yaml.safe_load_all(out) if d]
    kinds = {d["kind"] for d in docs}
    assert kinds == {"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}
    names = {d["metadata"]["name"] for d in docs}
    assert {"kube-auditor-ka-ctr-001", "kube-auditor-ka-ctr-010", "kube-auditor-ka-pss-001"} <= names
    bindings = {d["metadata"]["name"]: d["spec"] for d in docs if d["kind"].endswith("Binding")}
    assert bindings["kube-auditor-ka-pss-001"]["validationActions"] == ["Deny"]  # privileged
    assert bindings["kube-auditor-ka-ctr-001"]["validationActions"] == ["Warn"]
    assert "not compiled" in result.stderr


def test_export_vap_honours_mode_and_config(tmp_path):
    config = tmp_path / "scan.yaml"
    config.write_text("rules:\n  disable: [KA-CTR-001]\nskipNamespaces: [legacy]\npss: {level: baseline}\n")
    result = CliRunner().invoke(main, ["export", "vap", "--mode", "audit", "--config", str(config), "-q"])
    assert result.exit_code == 0
    docs = [d for d in yaml.safe_load_all(result.stdout) if d]
    names = {d["metadata"]["name"] for d in docs}
    assert "kube-auditor-ka-ctr-001" not in names
    assert "kube-auditor-ka-pss-003" in names  # hostPathVolumes: a baseline check
    assert "kube-auditor-ka-pss-017" not in names  # runAsNonRoot: restricted only
    binding = next(d for d in docs if d["kind"].endswith("Binding"))
    assert binding["spec"]["validationActions"] == ["Audit"]
    values = binding["spec"]["matchResources"]["namespaceSelector"]["matchExpressions"][0]["values"]
    assert values == ["kube-system", "legacy"]
    assert result.stderr == ""


def test_export_vap_with_an_old_policy_version_says_why_pss_is_missing(tmp_path):
    config = tmp_path / "scan.yaml"
    config.write_text("pss: {version: v1.24}\n")
    result = CliRunner().invoke(main, ["export", "vap", "--config", str(config)])
    assert result.exit_code == 0
    assert (
        "not compiled: KA-PSS-001: the Pod Security checks are compiled at policy version "
        "latest (v1.37), not v1.24"
    ) in result.stdout
