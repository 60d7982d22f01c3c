"""Admission webhook latency under load: realistic AdmissionReviews over TLS at fixed rates.

Starts ``kube-auditor webhook serve --self-signed`` in its own process (the full default rule
set, enforce mode, JSON request logs on as in production), then, for each rate, sends
AdmissionReviews from a pool of keep-alive TLS connections (as the API server does) on an
open-loop schedule for a fixed duration: request *i* is due at ``start + i / rate`` and its
latency is measured from that moment, so a slow server cannot slow the load down and hide
its own queueing (no coordinated omission). Reports p50/p90/p99/max per rate, the highest
rate held with p99 under 10 ms, the server's own evaluation time (from ``/metrics``) and the
load average of the machine during each step.

    python bench/webhook_bench.py                       # 50 .. 600 requests/s, 10 s each
    python bench/webhook_bench.py --rates 200 --duration 30 --json

The mix (per 200 requests), shaped like a busy cluster's admission traffic: 130 Pod
CREATEs as a ReplicaSet controller sends them (defaulted spec, projected token volume,
managedFields), 2 privileged Pods (denied), 30 Deployment UPDATEs (object and oldObject),
16 Deployment and 16 ReplicaSet CREATEs, 4 NetworkPolicies, one RoleBinding never seen
before (a unique name each time, so the webhook's result cache cannot answer it) and one
RoleBinding re-applied unchanged. Latencies are also reported per kind of request.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import copy
import json
import os
import re
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_P99_MS = 10.0


# ---------------------------------------------------------------------------------------
# Realistic requests


def _container(name: str, image: str, port: int) -> dict:
    return {
        "name": name,
        "image": image,
        "ports": [{"name": "http", "containerPort": port, "protocol": "TCP"}],
        "env": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "POD_IP", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "status.podIP"}}}],
        "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http", "scheme": "HTTP"}, "initialDelaySeconds": 5,
                          "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3},
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http", "scheme": "HTTP"}, "timeoutSeconds": 1,
                           "periodSeconds": 5, "successThreshold": 1, "failureThreshold": 3},
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True,
                            "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": [{"name": "kube-api-access-x7k2p", "readOnly": True,
                          "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}],
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "imagePullPolicy": "IfNotPresent",
    }


def _pod_spec(index: int) -> dict:
    return {
        "volumes": [{"name": "kube-api-access-x7k2p", "projected": {"sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
        ], "defaultMode": 420}}],
        "containers": [
            _container("app", f"ghcr.io/acme/shop-{index % 7}:2.{index % 5}.1@sha256:{'c' * 64}", 8080),
            _container("proxy", "ghcr.io/acme/envoy:1.31.2", 9901),
        ],
        "restartPolicy": "Always",
        "terminationGracePeriodSeconds": 30,
        "dnsPolicy": "ClusterFirst",
        "serviceAccountName": "shop",
        "serviceAccount": "shop",
        "automountServiceAccountToken": True,
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "schedulerName": "default-scheduler",
        "tolerations": [
            {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
            {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
        ],
        "priority": 0,
        "enableServiceLinks": True,
        "preemptionPolicy": "PreemptLowerPriority",
    }


def _managed_fields(manager: str) -> list[dict]:
    return [{"manager": manager, "operation": "Update", "apiVersion": "v1", "time": "2026-11-01T10:00:00Z",
             "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {"f:generateName": {}, "f:labels": {".": {}, "f:app": {}}},
                                                     "f:spec": {"f:containers": {'k:{"name":"app"}': {".": {}, "f:image": {}}}}}}]


def pod(index: int, privileged: bool = False) -> dict:
    spec = _pod_spec(index)
    if privileged:
        spec["containers"][0]["securityContext"] = {"privileged": True}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "generateName": f"shop-{index % 7}-6d8f7c9b5-",
            "namespace": f"team-{index % 11}",
            "labels": {"app": f"shop-{index % 7}", "pod-template-hash": "6d8f7c9b5"},
            "annotations": {"kubectl.kubernetes.io/restartedAt": "2026-11-01T10:00:00Z"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": f"shop-{index % 7}-6d8f7c9b5",
                                 "uid": str(uuid.UUID(int=index)), "controller": True, "blockOwnerDeletion": True}],
            "managedFields": _managed_fields("kube-controller-manager"),
        },
        "spec": spec,
        "status": {},
    }


def deployment(index: int) -> dict:
    template = pod(index)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": f"shop-{index % 7}", "namespace": f"team-{index % 11}", "labels": {"app": f"shop-{index % 7}"},
                     "generation": 4, "managedFields": _managed_fields("kubectl-client-side-apply")},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": f"shop-{index % 7}"}},
                 "template": {"metadata": {"labels": {"app": f"shop-{index % 7}"}}, "spec": template["spec"]},
                 "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
                 "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600},
        "status": {"observedGeneration": 3, "replicas": 3, "readyReplicas": 3},
    }


def role_binding(index: int) -> dict:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": f"shop-edit-{index}", "namespace": f"team-{index % 11}"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
        "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": f"team-{index % 11}"}],
    }


def network_policy(index: int) -> dict:
    return {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": f"shop-{index}", "namespace": f"team-{index % 11}"},
        "spec": {"podSelector": {"matchLabels": {"app": f"shop-{index % 7}"}}, "policyTypes": ["Ingress"],
                 "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "gateway"}}}],
                              "ports": [{"protocol": "TCP", "port": 8080}]}]},
    }


def review(obj: dict, operation: str = "CREATE", old: dict | None = None, user: str = "system:serviceaccount:kube-system:replicaset-controller") -> dict:
    group, _, version = obj["apiVersion"].rpartition("/")
    resource = obj["kind"].lower() + "s"  # pods, deployments, replicasets, rolebindings, networkpolicies
    return {
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": str(uuid.uuid4()),
            "kind": {"group": group, "version": version, "kind": obj["kind"]},
            "resource": {"group": group, "version": version, "resource": resource},
            "requestKind": {"group": group, "version": version, "kind": obj["kind"]},
            "requestResource": {"group": group, "version": version, "resource": resource},
            "name": obj["metadata"].get("name", ""), "namespace": obj["metadata"]["namespace"],
            "operation": operation,
            "userInfo": {"username": user, "uid": str(uuid.uuid4()), "groups": ["system:serviceaccounts", "system:authenticated"]},
            "object": obj, "oldObject": old, "dryRun": False,
            "options": {"kind": "CreateOptions" if operation == "CREATE" else "UpdateOptions", "apiVersion": "meta.k8s.io/v1"},
        },
    }


def _encode(body: dict) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def request_mix() -> list[tuple[str, object]]:
    """200 (label, body) pairs, cycled by the clients; a body is bytes, or a function of the
    request's sequence number giving bytes (for objects that must be new every time)."""
    mix: list[tuple[str, object]] = []
    reapplied = _encode(review(role_binding(0), "UPDATE", role_binding(0), user="alice@example.com"))
    for i in range(200):
        if i < 130:
            mix.append(("Pod CREATE", _encode(review(pod(i)))))
        elif i < 132:
            mix.append(("Pod CREATE (denied)", _encode(review(pod(i, privileged=True)))))
        elif i < 162:
            new = deployment(i)
            old = copy.deepcopy(new)
            old["spec"]["template"]["spec"]["containers"][0]["image"] = "ghcr.io/acme/shop:2.0.0@sha256:" + "d" * 64
            mix.append(("Deployment UPDATE", _encode(review(new, "UPDATE", old, user="alice@example.com"))))
        elif i < 178:
            mix.append(("Deployment CREATE", _encode(review(deployment(i), user="alice@example.com"))))
        elif i < 194:
            replica_set = deployment(i)
            replica_set["kind"] = "ReplicaSet"
            mix.append(("ReplicaSet CREATE", _encode(review(replica_set, user="system:serviceaccount:kube-system:deployment-controller"))))
        elif i < 198:
            mix.append(("NetworkPolicy CREATE", _encode(review(network_policy(i), user="alice@example.com"))))
        elif i == 198:
            mix.append(("RoleBinding CREATE (new)", lambda n: _encode(review(role_binding(100000 + n), user="alice@example.com"))))
        else:
            mix.append(("RoleBinding UPDATE (unchanged)", reapplied))
    return mix


# ---------------------------------------------------------------------------------------
# Load


async def _connect(port: int, context: ssl.SSLContext):
    return await asyncio.open_connection("127.0.0.1", port, ssl=context, server_hostname="127.0.0.1")


async def _exchange(reader, writer, body: bytes) -> int:
    writer.write(
        b"POST /validate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Accept: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))
    await reader.readexactly(length)
    return status


async def run_rate(port: int, context: ssl.SSLContext, mix: list[tuple[str, object]], rate: float, duration: float,
                   connections: int) -> dict:
    """Open-loop load at ``rate`` requests/s for ``duration`` seconds."""
    pool: asyncio.Queue = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await _connect(port, context))
    latencies: list[float] = []
    by_label: dict[str, list[float]] = {}
    errors = 0
    total = int(rate * duration)
    clock = time.perf_counter  # uvloop's loop.time() counts whole milliseconds
    start = clock() + 0.05
    tasks = []

    async def one(i: int, due: float) -> None:
        nonlocal errors
        label, body = mix[i % len(mix)]
        if callable(body):
            body = body(i)
        reader, writer = await pool.get()
        try:
            status = await _exchange(reader, writer, body)
            if status != 200:
                errors += 1
            latency = clock() - due
            latencies.append(latency)
            by_label.setdefault(label, []).append(latency * 1000)
            pool.put_nowait((reader, writer))
        except (OSError, asyncio.IncompleteReadError, ValueError):
            errors += 1
            writer.close()
            pool.put_nowait(await _connect(port, context))

    load_before = os.getloadavg()[0]
    for i in range(total):
        due = start + i / rate
        delay = due - clock()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, due)))
    await asyncio.gather(*tasks)
    elapsed = clock() - start
    while not pool.empty():
        _, writer = pool.get_nowait()
        writer.close()
    latencies.sort()
    ms = [x * 1000 for x in latencies]

    def pct(p: float, values: list[float] | None = None) -> float:
        values = ms if values is None else values
        return values[min(len(values) - 1, int(p / 100 * len(values)))] if values else float("nan")

    kinds = {}
    for label, values in sorted(by_label.items()):
        values.sort()
        kinds[label] = {"count": len(values), "p50_ms": round(pct(50, values), 2), "p99_ms": round(pct(99, values), 2)}

    return {
        "rate": rate, "duration_s": duration, "requests": total, "errors": errors,
        "achieved_rate": round(len(ms) / elapsed, 1),
        "p50_ms": round(pct(50), 2), "p90_ms": round(pct(90), 2), "p99_ms": round(pct(99), 2),
        "max_ms": round(ms[-1], 2) if ms else None, "mean_ms": round(statistics.fmean(ms), 2) if ms else None,
        "load_avg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "by_kind": kinds,
    }


def server_evaluation(port: int, context: ssl.SSLContext) -> dict:
    import urllib.request

    with urllib.request.urlopen(f"https://127.0.0.1:{port}/metrics", context=context, timeout=10) as answer:
        text = answer.read().decode()

    def value(name: str) -> float:
        found = re.search(rf"^{name} ([0-9.e+]+)$", text, re.M)
        return float(found.group(1)) if found else 0.0

    count = value("kube_auditor_webhook_evaluation_duration_seconds_count")
    total = value("kube_auditor_webhook_evaluation_duration_seconds_sum")
    return {"evaluations": int(count), "mean_evaluation_ms": round(total / count * 1000, 3) if count else None}


def start_server(workdir: Path, port: int, config: str | None = None, floor: bool = False) -> tuple[subprocess.Popen, ssl.SSLContext]:
    command = [sys.executable, "-m", "auditor", "webhook", "serve", "--self-signed", "--cert-dir", str(workdir),
               "--host", "127.0.0.1", "--port", str(port), *(["--config", config] if config else [])]
    if floor:
        command = [sys.executable, str(Path(__file__).resolve()), "--serve-floor", str(port), str(workdir)]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=REPO,
    )
    ca = base64.b64decode(process.stdout.readline().strip()).decode()
    context = ssl.create_default_context(cadata=ca)
    import urllib.request

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"https://127.0.0.1:{port}/readyz", context=context, timeout=2):
                return process, context
        except OSError:
            if process.poll() is not None:
                raise SystemExit("the webhook server exited during startup") from None
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the webhook server did not become ready in 120 s")


def serve_floor(port: int, workdir: Path) -> None:
    """A do-nothing admission server on the same stack (uvicorn, uvloop, httptools, TLS
    context): what the machine charges any Python HTTPS server, before a single rule."""
    import uvicorn

    from auditor.webhook.tls import self_signed, server_context

    certs = self_signed(workdir, ["localhost"])
    context = server_context(certs.cert_file, certs.key_file)
    answer = b'{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"","allowed":true}}'

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                done = "startup" if message["type"] == "lifespan.startup" else "shutdown"
                await send({"type": f"lifespan.{done}.complete"})
                if done == "shutdown":
                    return
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(answer)).encode())]})
        await send({"type": "http.response.body", "body": answer})

    print(base64.b64encode(certs.ca_file.read_bytes()).decode(), flush=True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, access_log=False,
                ssl_context_factory=lambda _config, _default: context)


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--serve-floor":
        serve_floor(int(sys.argv[2]), Path(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="50,100,200,300,400,600", help="requests per second, comma-separated")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per rate")
    parser.add_argument("--connections", type=int, default=8, help="keep-alive TLS connections (the API server's pool)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds at the first rate before measuring")
    parser.add_argument("--config", help="webhook configuration file for the server (default: none, the defaults)")
    parser.add_argument("--floor", action="store_true",
                        help="also measure a do-nothing server on the same stack, for comparison")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    mix = request_mix()
    sizes = sorted(len(b if isinstance(b, bytes) else b(0)) for _, b in mix)
    try:  # the client's own overhead is noise in the figures: keep it small
        import uvloop

        run = uvloop.run
    except ImportError:  # pragma: no cover
        run = asyncio.run
    def measure(floor: bool) -> tuple[list[dict], dict | None]:
        with tempfile.TemporaryDirectory(prefix="kube-auditor-bench-") as workdir:
            import socket

            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            process, context = start_server(Path(workdir), port, args.config, floor)
            try:
                run(run_rate(port, context, mix, rates[0], args.warmup, args.connections))
                results = [run(run_rate(port, context, mix, rate, args.duration, args.connections)) for rate in rates]
                evaluation = None if floor else server_evaluation(port, context)
            finally:
                process.terminate()
                process.wait(timeout=30)
        return results, evaluation

    floor_results = measure(True)[0] if args.floor else None
    results, evaluation = measure(False)
    held = [r["rate"] for r in results if r["p99_ms"] <= TARGET_P99_MS and not r["errors"]
            and r["achieved_rate"] >= 0.95 * r["rate"]]
    summary = {
        "python": sys.version.split()[0], "cpus": os.cpu_count(), "connections": args.connections,
        "body_bytes": {"min": sizes[0], "median": sizes[len(sizes) // 2], "max": sizes[-1]},
        "server": evaluation, "results": results, "floor": floor_results,
        "rates_held_with_p99_under_10ms": held,
        "highest_rate_with_p99_under_10ms": max(held) if held else None,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    print(f"webhook bench: python {summary['python']}, {summary['cpus']} CPUs, {args.connections} keep-alive TLS "
          f"connections, bodies {sizes[0]}-{sizes[-1]} bytes (median {summary['body_bytes']['median']})")
    print(f"{'rate/s':>7} {'achieved':>9} {'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7} {'max ms':>7} {'errors':>6}  load avg (1 min)")
    for r in results:
        print(f"{r['rate']:>7.0f} {r['achieved_rate']:>9.1f} {r['p50_ms']:>7.2f} {r['p90_ms']:>7.2f} {r['p99_ms']:>7.2f} "
              f"{r['max_ms']:>7.2f} {r['errors']:>6}  {r['load_avg_1m'][0]} -> {r['load_avg_1m'][1]}")
    print("by kind of request (all rates): p50 / p99 ms")
    merged: dict[str, list[dict]] = {}
    for r in results:
        for label, stats in r["by_kind"].items():
            merged.setdefault(label, []).append(stats)
    for label, stats in merged.items():
        print(f"  {label:<32} " + "  ".join(f"{s['p50_ms']:.2f}/{s['p99_ms']:.2f}" for s in stats))
    print(f"server: {evaluation['evaluations']} evaluations, mean {evaluation['mean_evaluation_ms']} ms of rule evaluation")
    print(f"rates held with p99 under {TARGET_P99_MS:g} ms (and every request answered in time): "
          f"{', '.join(f'{r:g}' for r in held) or 'none'}")
    if floor_results:
        print("do-nothing server on the same stack (the machine's floor):")
        for r in floor_results:
            print(f"{r['rate']:>7.0f} {r['achieved_rate']:>9.1f} {r['p50_ms']:>7.2f} {r['p90_ms']:>7.2f} {r['p99_ms']:>7.2f} "
                  f"{r['max_ms']:>7.2f} {r['errors']:>6}  {r['load_avg_1m'][0]} -> {r['load_avg_1m'][1]}")


if __name__ == "__main__":
    main()
