"""The HTTPS server: endpoints, bad input, slow clients, concurrency, deadlines, TLS, logs."""

from __future__ import annotations

import copy
import io
import json
import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from webhookkit import RunningWebhook, hardened_pod, pod, review

from auditor.webhook import logs
from auditor.webhook.config import WebhookConfig
from auditor.webhook.decide import Admission
from auditor.webhook.tls import self_signed

CONFIG = {
    "mode": "enforce",
    "threshold": "medium",
    "server": {"requestTimeoutSeconds": 1.0, "keepAliveSeconds": 30, "processWorkers": 0},
    "tls": {"reloadIntervalSeconds": 0.2},
}


@pytest.fixture(scope="module")
def log_stream():
    stream = io.StringIO()
    logs.configure("info", stream)
    return stream


@pytest.fixture(scope="module")
def shared_admission() -> Admission:
    return Admission(WebhookConfig.model_validate(CONFIG))


@pytest.fixture(scope="module")
def server(tmp_path_factory, shared_admission, log_stream):
    config = WebhookConfig.model_validate(CONFIG)
    with RunningWebhook(config, tmp_path_factory.mktemp("webhook"), admission=shared_admission) as running:
        yield running


def test_health_ready_and_metrics(server):
    assert server.get("/healthz") == (200, b"ok\n")
    assert server.get("/readyz") == (200, b"ok\n")
    status, body = server.get("/metrics")
    assert status == 200
    text = body.decode()
    assert "kube_auditor_webhook_request_duration_seconds_bucket" in text
    assert 'kube_auditor_webhook_rules{state="admission"}' in text


def test_validate_denies_and_admits(server):
    denied = server.validate(review(pod(), uid="deny-1"))
    assert denied["uid"] == "deny-1" and denied["allowed"] is False
    assert denied["status"]["code"] == 403
    assert "KA-CTR-001 (medium)" in denied["status"]["message"]
    admitted = server.validate(review(hardened_pod(), uid="admit-1"))
    assert admitted == {"uid": "admit-1", "allowed": True}


def test_metrics_count_decisions_by_rule(server):
    server.validate(review(pod()))
    text = server.get("/metrics")[1].decode()
    assert 'kube_auditor_webhook_decisions_total{action="deny",rule="KA-CTR-001",severity="medium"}' in text
    assert 'kube_auditor_webhook_admissions_total{decision="denied",endpoint="validate",kind="Pod",operation="CREATE",reason="evaluated"}' in text


BAD_BODIES = {
    "not JSON": (b"{not json", "not valid JSON"),
    "a JSON list": (b"[1, 2]", "must be a JSON object"),
    "wrong apiVersion": (
        json.dumps({**review(pod()), "apiVersion": "admission.k8s.io/v1beta1"}).encode(),
        "admissionReviewVersions v1 only",
    ),
    "wrong kind": (json.dumps({**review(pod()), "kind": "TokenReview"}).encode(), "kind AdmissionReview"),
    "no request": (b'{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}', "request is missing"),
    "missing uid": (
        json.dumps({**review(pod()), "request": {k: v for k, v in review(pod())["request"].items() if k != "uid"}}).encode(),
        "request.uid is missing",
    ),
    "uid not a string": (
        json.dumps({**review(pod()), "request": {**review(pod())["request"], "uid": 7}}).encode(),
        "request.uid must be a string",
    ),
    "CREATE without object": (json.dumps(review(None, "CREATE", old=pod())).encode(), "request.object is required"),
    "unknown operation": (
        json.dumps({**review(pod()), "request": {**review(pod())["request"], "operation": "PATCH"}}).encode(),
        "request.operation must be one of",
    ),
    "object not a mapping": (
        json.dumps({**review(pod()), "request": {**review(pod())["request"], "object": "pod"}}).encode(),
        "request.object must be an object",
    ),
    "deeply nested": (b"[" * 5000 + b"]" * 5000, "not valid JSON"),
    "empty body": (b"", "not valid JSON"),
}


@pytest.mark.parametrize("name", list(BAD_BODIES))
def test_bad_input_is_a_clear_400(server, name):
    body, expected = BAD_BODIES[name]
    status, answer = server.post("/validate", body)
    assert status == 400, answer
    assert expected in answer["error"]


def test_oversized_body_is_refused_with_a_clear_400(server):
    big = b'{"pad": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    for _ in range(3):  # the answer must reach the client every time, not a reset
        status, answer = server.post("/validate", big)
        assert status == 400 and "over the limit" in answer["error"]


def test_a_huge_declared_body_is_refused_before_reading(server):
    sock = _tls_socket(server)
    sock.sendall(b"POST /validate HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n")
    sock.settimeout(10)
    answer = sock.recv(65536)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 400")


def test_oversized_chunked_body_is_refused(server):
    conn = server.connection()
    conn.putrequest("POST", "/validate")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    chunk = b"x" * (256 * 1024)
    try:
        for _ in range(16):  # 4 MiB in all
            conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        conn.send(b"0\r\n\r\n")
    except OSError:
        pass  # the server may close while we are still sending
    response = conn.getresponse()
    assert response.status == 400
    assert "over the limit" in json.loads(response.read())["error"]
    conn.close()


def test_wrong_method_and_path(server):
    status, answer = server.get("/validate")
    assert status == 405
    status, answer = server.post("/nowhere", b"{}")
    assert status == 404


def test_slow_body_gets_a_clear_400(server):
    conn = server.connection()
    conn.putrequest("POST", "/validate")
    conn.putheader("Content-Length", "100")
    conn.endheaders()
    conn.send(b'{"apiVersion": ')
    started = time.monotonic()
    response = conn.getresponse()
    assert response.status == 400
    assert "did not arrive within 1s" in json.loads(response.read())["error"]
    assert time.monotonic() - started < 5
    conn.close()


def _tls_socket(server) -> ssl.SSLSocket:
    raw = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    return server.ssl_context().wrap_socket(raw, server_hostname="127.0.0.1")


def test_slowloris_headers_are_cut_off(server):
    sock = _tls_socket(server)
    sock.sendall(b"POST /validate HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    started = time.monotonic()
    closed_after = None
    try:
        for _ in range(40):  # one header byte every 0.25 s, for up to 10 s
            sock.sendall(b"X")
            time.sleep(0.25)
    except OSError:
        closed_after = time.monotonic() - started
    else:
        sock.settimeout(5)
        try:
            closed_after = time.monotonic() - started if sock.recv(1) == b"" else None
        except OSError:
            closed_after = time.monotonic() - started
    finally:
        sock.close()
    assert closed_after is not None and closed_after < 5, "a trickling client kept its connection"


def test_idle_keep_alive_outlives_the_request_deadline(server):
    conn = server.connection()
    body = json.dumps(review(hardened_pod())).encode()
    for _ in range(2):
        conn.request("POST", "/validate", body=body, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        assert response.status == 200
        response.read()
        time.sleep(1.5)  # longer than requestTimeoutSeconds, shorter than keepAliveSeconds
    conn.close()


def test_concurrent_requests_get_their_own_answers(server):
    def one(i: int) -> tuple[str, bool, bool]:
        bad = i % 3 == 0
        obj = pod(name=f"web-{i}") if bad else hardened_pod(name=f"web-{i}")
        answer = server.validate(review(obj, uid=f"uid-{i}"))
        return answer["uid"], answer["allowed"], not bad

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(one, range(160)))
    assert [uid for uid, _, _ in results] == [f"uid-{i}" for i in range(160)]
    assert all(allowed == expected for _, allowed, expected in results)


@pytest.mark.parametrize("outcome", ["deny", "allow"])
def test_evaluation_deadline_fails_as_configured(tmp_path, shared_admission, outcome):
    config = WebhookConfig.model_validate(
        {**CONFIG, "timeouts": {"evaluationMs": 200, "onTimeout": outcome}}
    )
    slow = copy.copy(shared_admission)
    slow.decide = lambda request: time.sleep(1.0) or Admission.decide(shared_admission, request)
    with RunningWebhook(config, tmp_path, admission=slow) as running:
        started = time.monotonic()
        answer = running.validate(review(hardened_pod(), uid="slow"))
        assert time.monotonic() - started < 0.9
        status, metrics = running.get("/metrics")
    if outcome == "deny":
        assert answer["allowed"] is False
        assert "within 200 ms and fails closed" in answer["status"]["message"]
    else:
        assert answer["allowed"] is True
        assert "admitted (fail open)" in answer["warnings"][0]
    assert 'reason="timeout"' in metrics.decode()


def test_evaluation_error_is_never_a_500(tmp_path, shared_admission, log_stream):
    config = WebhookConfig.model_validate(CONFIG)
    broken = copy.copy(shared_admission)

    def explode(request):
        raise RuntimeError("boom")

    broken.decide = explode
    with RunningWebhook(config, tmp_path, admission=broken) as running:
        status, answer = running.post("/validate", review(hardened_pod(), uid="err-1"))
    assert status == 200
    assert answer["response"]["allowed"] is False
    assert "fails closed (timeouts.onError: deny)" in answer["response"]["status"]["message"]
    assert '"uid":"err-1"' in log_stream.getvalue()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_tls_below_1_2_is_refused(server):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(server.certs.ca_file)
    context.maximum_version = ssl.TLSVersion.TLSv1_1
    try:
        context.minimum_version = ssl.TLSVersion.TLSv1
    except ValueError:
        pytest.skip("this OpenSSL cannot even offer TLS 1.1")
    with pytest.raises(ssl.SSLError):
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
            context.wrap_socket(raw, server_hostname="127.0.0.1")
    with _tls_socket(server) as tls:
        assert tls.version() in ("TLSv1.2", "TLSv1.3")


def _served_certificate(running) -> bytes:
    with _tls_socket_verified(running) as tls:
        return tls.getpeercert(binary_form=True)


def _tls_socket_verified(running, cafile=None) -> ssl.SSLSocket:
    context = ssl.create_default_context(cafile=str(cafile or running.certs.ca_file))
    raw = socket.create_connection(("127.0.0.1", running.port), timeout=10)
    return context.wrap_socket(raw, server_hostname="127.0.0.1")


def test_certificate_is_reloaded_without_restart(tmp_path, shared_admission):
    config = WebhookConfig.model_validate(CONFIG)
    with RunningWebhook(config, tmp_path, admission=shared_admission) as running:
        before = _served_certificate(running)
        kept = running.connection()
        kept.request("GET", "/healthz")
        assert kept.getresponse().read() == b"ok\n"
        # Rotate: a new CA and certificate written over the same files.
        rotated = self_signed(tmp_path / "rotated", ["localhost"], ["127.0.0.1"])
        running.certs.key_file.write_bytes(rotated.key_file.read_bytes())  # key first: a torn state
        time.sleep(0.5)
        assert _served_certificate(running) == before, "a mismatched pair must not be loaded"
        running.certs.cert_file.write_bytes(rotated.cert_file.read_bytes())
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with _tls_socket_verified(running, rotated.ca_file) as tls:
                    after = tls.getpeercert(binary_form=True)
                break
            except ssl.SSLError:
                time.sleep(0.1)
        else:
            pytest.fail("the new certificate was not served within 10 s")
        assert after != before
        # A connection opened before the rotation goes on working.
        kept.request("GET", "/healthz")
        assert kept.getresponse().read() == b"ok\n"
        kept.close()


def test_logs_are_json_with_the_uid_and_no_object_contents(server, log_stream):
    secret = "hunter2-correct-horse"
    obj = pod(env=[{"name": "DB_PASSWORD", "value": secret}])
    server.validate(review(obj, uid="log-uid-1"))
    lines = [json.loads(line) for line in log_stream.getvalue().splitlines() if line.strip()]
    ours = [line for line in lines if line.get("uid") == "log-uid-1"]
    assert ours and ours[0]["event"] == "review" and ours[0]["allowed"] is False
    assert "KA-CTR-010" in ours[0]["rules"]
    assert secret not in log_stream.getvalue()


def test_mutate_is_off_by_default(server):
    status, answer = server.post("/mutate", review(pod(), uid="m-1"))
    assert status == 200
    assert answer["response"] == {"uid": "m-1", "allowed": True}


def test_threads_are_bounded_while_many_connections_wait(server):
    # Many idle connections do not stop others from being served.
    idle = [_tls_socket(server) for _ in range(20)]
    try:
        assert server.validate(review(hardened_pod()))["allowed"] is True
    finally:
        for sock in idle:
            sock.close()


def test_shutdown_is_clean(tmp_path, shared_admission):
    config = WebhookConfig.model_validate(CONFIG)
    running = RunningWebhook(config, tmp_path, admission=shared_admission).start()
    running.stop()
    assert not running._thread.is_alive()
    with pytest.raises(OSError):
        running.get("/healthz")


def test_rbac_reviews_are_served_by_a_worker_process(tmp_path):
    config = WebhookConfig.model_validate({**CONFIG, "server": {**CONFIG["server"], "processWorkers": 1}})
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "ops-admin"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "ops"}],
    }
    with RunningWebhook(config, tmp_path) as running:
        assert running.app.processes is not None
        denied = running.validate(review(binding, uid="rbac-1"))
        unchanged = running.validate(review(binding, "UPDATE", old=binding, uid="rbac-2"))
        pod_answer = running.validate(review(hardened_pod(), uid="pod-1"))
    assert denied["allowed"] is False and "KA-RBAC-001" in denied["status"]["message"]
    assert unchanged["allowed"] is True  # answered in the server: nothing changed
    assert pod_answer["allowed"] is True


def test_alarm_deadline_interrupts_a_runaway_evaluation():
    import asyncio

    from auditor.webhook.deadline import AlarmRunner, DeadlineExceeded

    runner = AlarmRunner(0.1)

    def spin(_):
        while True:
            pass

    async def main():
        started = time.monotonic()
        with pytest.raises(DeadlineExceeded):
            await runner.run(spin, None)
        assert time.monotonic() - started < 1
        assert await runner.run(lambda x: x * 2, 21) == 42

    try:
        asyncio.run(main())
    finally:
        runner.close()
