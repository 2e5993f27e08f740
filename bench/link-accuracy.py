#!/usr/bin/python3
"""How often the event-loop heuristic links a proxy's outgoing request to the right incoming one.

A client (not preloaded) sends requests over K concurrent keep-alive connections, each with a
traceparent of its own (a fresh trace id per request), through a preloaded proxy (nginx with a
connection per upstream request, nginx with a keep-alive upstream, a Node http proxy) to a
preloaded backend (chain.py, a thread per connection). A request is linked correctly when the
backend's SERVER span for it (found by its query id) is in the client's trace, its parent is
the proxy's CLIENT span, and that span's parent is the proxy's SERVER span for the same request.

    bench/link-accuracy.py [--requests N] [--conns 1,4,16]

Run from the repository with a built tree (build/hooks/libotelpreload.so). Prints a markdown
table for docs/benchmarks.md.
"""
import argparse
import os
import queue
import secrets
import shutil
import sys
import tempfile
import threading
import time
import http.client

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "preload"))
os.environ.setdefault("OTELP_LIB", os.path.join(ROOT, "build", "hooks", "libotelpreload.so"))
os.environ.setdefault("OTELP_PROTO_PY", os.path.join(ROOT, "build", "proto"))

import httpkit  # noqa: E402
from receiver import Receiver  # noqa: E402

CHAIN = os.path.join(ROOT, "tests", "http", "chain.py")
NODE_PROXY = os.path.join(HERE, "node-proxy.js")


def client(port, prefix, ids, conns, results):
    work = queue.Queue()
    for i in ids:
        work.put(i)

    def run():
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        while True:
            try:
                i = work.get_nowait()
            except queue.Empty:
                break
            trace = secrets.token_hex(16)
            tp = "00-%s-%s-01" % (trace, secrets.token_hex(8))
            c.request("GET", "%s/data?size=64&id=%d" % (prefix, i), headers={"traceparent": tp})
            r = c.getresponse()
            r.read()
            results[i] = (trace, r.status)
        c.close()

    threads = [threading.Thread(target=run) for _ in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def score(spans, results, proxy_service):
    by_id = {s["spanId"]: s for s in spans}
    backend = {}
    for s in spans:
        if httpkit.service(s) == "backend" and s["kind"] in (2, "SPAN_KIND_SERVER", "server"):
            q = s["attributes"].get("url.query", "")
            for part in q.split("&"):
                if part.startswith("id="):
                    backend[int(part[3:])] = s
    ok = 0
    for i, (trace, status) in results.items():
        b = backend.get(i)
        if not b or b["traceId"] != trace:
            continue
        pc = by_id.get(b.get("parentSpanId"))
        if not pc or httpkit.service(pc) != proxy_service:
            continue
        ps = by_id.get(pc.get("parentSpanId"))
        if not ps or httpkit.service(ps) != proxy_service or ps["traceId"] != trace:
            continue
        ok += 1
    return ok


def measure(kind, conns, n, work):
    rx = Receiver()
    rx.start()
    procs = []
    try:
        env_of = lambda svc: httpkit.base_env({  # noqa: E731
            "OTEL_EXPORTER_OTLP_ENDPOINT": rx.endpoint, "OTEL_SERVICE_NAME": svc,
            "OTEL_BSP_SCHEDULE_DELAY": "100", "OTEL_BSP_MAX_QUEUE_SIZE": "65536"})
        bport = httpkit.free_port()
        backend = httpkit.Proc(["/usr/bin/python3", CHAIN, "backend", str(bport)],
                               env_of("backend"), work, "backend")
        procs.append(backend)
        backend.wait_ready(("127.0.0.1", bport))
        pport = httpkit.free_port()
        if kind.startswith("nginx"):
            root = os.path.join(work, "root-%d" % pport)
            os.makedirs(root, exist_ok=True)
            ng = httpkit.Nginx(work, pport, root, backend_port=bport)
            procs.append(ng.start(env_of("proxy"), work))
            prefix = "/api" if kind == "nginx" else "/ka"
        else:
            node = httpkit.Proc([httpkit.node_program(), NODE_PROXY, str(pport), str(bport)],
                                env_of("proxy"), work, "node")
            procs.append(node)
            node.wait_ready(("127.0.0.1", pport))
            prefix = ""
        results = {}
        client(pport, prefix, range(n), conns, results)
        expected = 3 * len(results)
        deadline = time.time() + 30
        while time.time() < deadline and len(rx.spans()) < expected:
            time.sleep(0.2)
        time.sleep(0.5)
        return score(rx.spans(), results, "proxy"), len(results)
    finally:
        for p in reversed(procs):
            p.stop()
        rx.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--conns", default="1,4,16")
    args = ap.parse_args()
    kinds = ["nginx", "nginx-keepalive"]
    if httpkit.node_program():
        kinds.append("node")
    rows = []
    work = tempfile.mkdtemp(prefix="otelp-link-")
    try:
        for kind in kinds:
            for k in [int(x) for x in args.conns.split(",")]:
                ok, n = measure(kind, k, args.requests, work)
                rows.append((kind, k, ok, n))
                print("%s conns=%d linked %d/%d" % (kind, k, ok, n), file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("| proxy | concurrent connections | correctly linked | share |")
    print("|---|---|---|---|")
    for kind, k, ok, n in rows:
        print("| %s | %d | %d / %d | %.1f %% |" % (kind, k, ok, n, 100.0 * ok / max(n, 1)))


if __name__ == "__main__":
    main()
