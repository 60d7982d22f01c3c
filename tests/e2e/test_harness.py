"""Tests of the harness itself: skip/fail policy, error messages, and no leaked processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from harness import procs
from harness.apiserver import (
    BUILD_HINT,
    Binaries,
    BinariesNotFound,
    KubeAPIServer,
    PortInUse,
    ServerNotReady,
    find_binaries,
    require_binaries,
)

pytestmark = pytest.mark.e2e
TESTS_DIR = Path(__file__).resolve().parents[1]


def _gone(pid: int, timeout: float = 15.0) -> bool:
    """True once neither the process nor its process group exists (bounded poll)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not procs.group_alive(pid) and not Path(f"/proc/{pid}").exists():
            return True
        time.sleep(0.05)
    return False


# ------------------------------------------------------------ no binaries


def test_missing_binaries_message_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBE_AUDITOR_E2E_BIN", str(tmp_path))
    with pytest.raises(BinariesNotFound) as exc:
        find_binaries()
    message = str(exc.value)
    assert "\n" not in message
    assert message.startswith(f"kube-apiserver not built: {BUILD_HINT}")


def test_missing_binaries_skip_locally_fail_in_ci(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBE_AUDITOR_E2E_BIN", str(tmp_path))
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        require_binaries()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception) as exc:
        require_binaries()
    assert "kube-apiserver not built" in str(exc.value)


# ------------------------------------------------------- startup failures


def _fake_apiserver(tmp_path: Path, script: str) -> Binaries:
    real = require_binaries()
    fake = tmp_path / "fake-kube-apiserver"
    fake.write_text("#!/bin/sh\n" + script)
    fake.chmod(0o755)
    return Binaries(kube_apiserver=fake, etcd=real.etcd)


def test_server_that_exits_reports_log_tail(tmp_path):
    binaries = _fake_apiserver(tmp_path, 'echo "E0101 flag --bogus is broken" >&2; exit 3\n')
    server = KubeAPIServer(binaries, workdir=tmp_path / "w")
    with pytest.raises(ServerNotReady) as exc:
        server.start()
    first, *rest = str(exc.value).splitlines()
    assert first.startswith("kube-apiserver exited with code 3 during startup")
    assert any("flag --bogus is broken" in line for line in rest)
    assert server.pids == []  # etcd was stopped too


def test_port_clash_is_reported(tmp_path):
    binaries = _fake_apiserver(
        tmp_path, 'echo "listen tcp 127.0.0.1:1: bind: address already in use" >&2; exit 1\n'
    )
    server = KubeAPIServer(binaries, workdir=tmp_path / "w")
    with pytest.raises(PortInUse, match="port clash"):
        server.start(attempts=2)
    assert server.pids == []


def test_server_not_ready_in_time_is_reported(tmp_path):
    binaries = _fake_apiserver(tmp_path, 'echo "waiting forever"; exec sleep 600\n')
    server = KubeAPIServer(binaries, workdir=tmp_path / "w", start_timeout=2)
    with pytest.raises(ServerNotReady, match="not ready after 2s") as exc:
        server.start()
    assert "waiting forever" in str(exc.value)
    assert server.pids == []


# --------------------------------------------------------------- teardown


def test_stop_leaves_no_process_behind(tmp_path):
    server = KubeAPIServer(require_binaries(), workdir=tmp_path)
    server.start()
    pids = server.pids
    assert len(pids) == 2 and all(procs.group_alive(p) for p in pids)
    server.stop()
    assert server.pids == []
    assert all(_gone(p) for p in pids), f"leaked: {pids}"
    # Both exited on SIGTERM (etcd re-raises it), without needing SIGKILL.
    assert set(server.exit_codes) == {"kube-apiserver", "etcd"}
    assert -signal.SIGKILL not in server.exit_codes.values(), server.exit_codes


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_killed_owner_leaves_no_process_behind(tmp_path, sig):
    """An interrupted or killed test session must not leave etcd/kube-apiserver running."""
    owner_code = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(TESTS_DIR)!r})\n"
        "from harness.apiserver import KubeAPIServer, find_binaries\n"
        f"s = KubeAPIServer(find_binaries(), workdir={str(tmp_path)!r}).start()\n"
        "print(json.dumps(s.pids), flush=True)\n"
        "sys.stdin.read()\n"
    )
    owner = subprocess.Popen(
        [sys.executable, "-c", owner_code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, "KUBE_AUDITOR_E2E_BIN": str(require_binaries().etcd.parent)},
    )
    try:
        pids = json.loads(owner.stdout.readline() or "[]")
        assert len(pids) == 2, "owner process did not start the server"
        owner.send_signal(sig)
        assert owner.wait(timeout=30) == -sig
        assert all(_gone(p) for p in pids), f"leaked after {sig.name}: {pids}"
    finally:
        owner.kill()
        owner.wait()
