"""``kube-auditor netpol list|reach|matrix``: formats, exit codes and one-line errors."""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner
from netpol_helpers import deployment, namespace, policy, service

from auditor.cli import main


@pytest.fixture
def cluster(tmp_path):
    objs = [
        namespace("shop"), namespace("ops"),
        deployment("shop", "web", {"app": "web"}, ports=[(8080, "http")]),
        deployment("shop", "db", {"app": "db"}, ports=[(5432, "pg")]),
        deployment("ops", "probe", {"app": "probe"}),
        policy("shop", "deny", policyTypes=["Ingress"]),
        policy("shop", "db-from-web", podSelector={"matchLabels": {"app": "db"}},
               ingress=[{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}], "ports": [{"port": "pg"}]}]),
        policy("shop", "web-in", podSelector={"matchLabels": {"app": "web"}},
               ingress=[{"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}],
                         "ports": [{"port": 8080}]}]),
        service("shop", "web", {"app": "web"}, [{"port": 80, "targetPort": "http"}], "LoadBalancer"),
    ]
    path = tmp_path / "cluster.yaml"
    path.write_text(yaml.safe_dump_all(objs), encoding="utf-8")
    return str(path)


def run(*args: str):
    return CliRunner().invoke(main, ["netpol", *args])


def test_list_txt(cluster):
    result = run("list", cluster)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines == sorted(lines, key=str.encode)
    assert "shop/web[Deployment] => shop/db[Deployment] : TCP 5432" in lines
    assert "10.0.0.0-10.0.255.255[External] => shop/web[Deployment] : TCP 8080" in lines
    assert not any(line.startswith("10.1.0.0") and "web" in line for line in lines)


@pytest.mark.parametrize("fmt", ["json", "csv", "md", "dot", "mermaid"])
def test_list_formats(cluster, fmt):
    result = run("list", "--format", fmt, cluster)
    assert result.exit_code == 0, result.output
    out = result.stdout
    if fmt == "json":
        doc = json.loads(out)
        assert {"src": "shop/web[Deployment]", "dst": "shop/db[Deployment]", "conn": "TCP 5432",
                "ports": {"TCP": [[5432, 5432]]}} in doc["connections"]
    elif fmt == "csv":
        assert out.startswith("src,dst,conn\n") and "shop/web[Deployment],shop/db[Deployment],TCP 5432\n" in out
    elif fmt == "md":
        assert "| shop/web[Deployment] | shop/db[Deployment] | TCP 5432 |" in out
    elif fmt == "dot":
        assert out.startswith("digraph") and '"shop/web[Deployment]" -> "shop/db[Deployment]"' in out
        assert 'label="shop"' in out
    else:
        assert out.startswith("flowchart LR") and '-->|"TCP 5432"|' in out


def test_list_exposure_json_and_txt(cluster):
    doc = json.loads(run("list", "--format", "json", "--exposure", cluster).stdout)
    assert {"workload": "ops/probe[Deployment]", "direction": "Ingress"} in doc["unprotected"]
    text = run("list", "--exposure", cluster).stdout
    assert "Exposure Analysis Result:" in text
    assert "ops/probe[Deployment] is not protected on Ingress" in text


def test_reach_allowed_denied_and_exit_codes(cluster):
    ok = run("reach", "--from", "shop/web", "--to", "shop/db", "--port", "5432", cluster)
    assert ok.exit_code == 0 and ok.stdout.startswith("ALLOWED")
    assert "policy shop/db-from-web ingress rule #1 admits shop/web[Deployment]" in ok.stdout
    denied = run("reach", "--from", "ops/probe", "--to", "shop/db", "--port", "5432", cluster)
    assert denied.exit_code == 1 and denied.stdout.startswith("DENIED")
    assert "policy shop/deny selects shop/db for Ingress but none of its rules admits ops/probe[Deployment] on TCP 5432" in denied.stdout
    named = run("reach", "--from", "shop/web", "--to", "shop/db[Deployment]", "--port", "pg", cluster)
    assert named.exit_code == 0
    anywhere = run("reach", "--from", "shop/db", "--to", "0.0.0.0/0", cluster)
    assert anywhere.exit_code == 0
    assert "no policy selects shop/db for Egress, so all egress is allowed" in anywhere.stdout


def test_reach_cidr_parts(cluster):
    result = run("reach", "--from", "10.0.0.0/8", "--to", "shop/web", "--port", "8080", cluster)
    assert result.exit_code == 1  # 10.1.0.0/16 is excepted
    assert "ALLOWED: 10.0.0.0/16 => shop/web[Deployment]" in result.stdout
    assert "DENIED: 10.1.0.0/16 => shop/web[Deployment]" in result.stdout
    doc = json.loads(run("reach", "--format", "json", "--from", "10.2.3.4", "--to", "shop/web", cluster).stdout)
    assert doc["allowed"] is True and doc["parts"][0]["conn"] == "TCP 8080"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--from", "shop/nope", "--to", "shop/db"], "no workload 'shop/nope'"),
        (["--from", "shop/web", "--to", "10.0.0.300"], "not a valid IP address or CIDR"),
        (["--from", "10.0.0.1", "--to", "10.0.0.2"], "both addresses"),
        (["--from", "shop/web", "--to", "shop/db", "--port", "70000"], "outside 1-65535"),
        (["--from", "shop/web", "--to", "shop/db", "--port", "nope"], "no container port of that name"),
    ],
)
def test_reach_errors_exit_2_with_one_line(cluster, args, message):
    result = run("reach", *args, cluster)
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_bad_input_exits_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: [", encoding="utf-8")
    result = run("list", str(bad))
    assert result.exit_code == 2 and result.stderr.startswith("kube-auditor: error:")
    assert run("list", str(tmp_path / "missing")).exit_code == 2


def test_matrix(cluster):
    result = run("matrix", cluster)
    assert result.exit_code == 0
    header, ops, shop, external = result.stdout.splitlines()[:4]
    assert header.split() == ["from", "\\", "to", "ops", "shop", "[External]"]
    assert ops.split() == ["ops", "-", "none", "all"]  # ops -> ops: one workload, no pair
    assert shop.split() == ["shop", "all", "1/2", "all"]  # ops is not isolated
    assert external.split() == ["[External]", "all", "1/2", "-"]
    doc = json.loads(run("matrix", "--format", "json", cluster).stdout)
    cell = next(c for c in doc["cells"] if c["from"] == "shop" and c["to"] == "shop")
    assert (cell["pairs"], cell["allowed"], cell["unrestricted"]) == (2, 1, 0)


def test_warnings_go_to_stderr(tmp_path):
    objs = [namespace("x"), deployment("x", "a", {"app": "a"}),
            policy("x", "p", policyTypes=["Ingress"], ingress=[{"from": [{}]}])]
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump_all(objs), encoding="utf-8")
    result = run("list", str(path))
    assert "the API server rejects it" in result.stderr and "=>" in result.stdout
    assert run("list", "-q", str(path)).stderr == ""
