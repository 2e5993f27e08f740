"""Integration tests of the HTTP instrumentation: real clients and servers on 127.0.0.1 (and
::1, and a Unix socket) under LD_PRELOAD, spans checked by a real OTLP/HTTP receiver.

Run by `meson test` (suite 'preload'), or by hand:
    OTELP_LIB=build/hooks/libotelpreload.so OTELP_PROTO_PY=build/proto \\
        /usr/bin/python3 tests/preload/test_http.py [-k pattern]
OTELP_FAULT_LIB and OTELP_STRESS name the built fault.c and stress.c (httpkit builds them
with cc when unset).

Each test is one scenario: programs run once without the preload (the reference) and once
under it; the outputs must be identical, then the spans must match the instrumentation's
contract (docs: HTTP spans per the stable semantic conventions; see the module's checks).
Every program gets its own OTEL_SERVICE_NAME; spans are told apart by service and kind.
"""
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                 "..", "http")))
from receiver import Receiver  # noqa: E402
import chain as chainmod  # noqa: E402
from httpkit import (ASAN, CHAIN, CLIENT, ERROR, NODE_CLIENT, NODE_SERVER, PY, SERVER,  # noqa
                     UNSET, Nginx, Proc, base_env, chain_problems, fault_lib,
                     free_port, have, header_values, ipv6_available, node_program, normalize,
                     parent, raw_exchange, read_log, select, service, sha, stress_program,
                     status_code, traceparent)

CURL_UA = "curl/" + subprocess.run(["curl", "--version"], capture_output=True,
                                   text=True).stdout.split()[1] if have("curl") else None
URLLIB_UA = "Python-urllib/%d.%d" % sys.version_info[:2]  # /usr/bin/python3 runs both

STRESS_N = 10000


def data(n=4096):
    return chainmod.data_body(n)


class HttpBase(unittest.TestCase):
    # Programs that are not built with ASan (python, curl, nginx, node) cannot run with the
    # ASan runtime preloaded; only the stress program is ours, built like the library.
    asan_ok = False

    def setUp(self):
        if ASAN and not self.asan_ok:
            self.skipTest("uninstrumented programs cannot run with the ASan runtime preloaded")
        self.tmp = tempfile.mkdtemp(prefix="otelp-http-")
        self.rx = Receiver().start()
        self.procs = []
        self.nginxes = []

    def tearDown(self):
        problems = []
        for n in reversed(self.nginxes):
            problems += self.nginx_stop_problems(n)
        for p in reversed(self.procs):
            p.stop()
        self.rx.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)
        # nginx must stop cleanly: a worker hanging in exit() is a bug, not noise.
        self.assertEqual(problems, [])

    @staticmethod
    def nginx_stop_problems(n):
        rc, killed = n.stop()
        out = []
        if rc != 0:
            out.append("nginx master ended with status %s" % rc)
        if killed:
            out.append("nginx worker(s) %s still running after the master: killed" % killed)
        return out

    # -- programs --

    def env(self, svc, extra=None, preload=True, more_preload=()):
        e = {"OTEL_EXPORTER_OTLP_ENDPOINT": self.rx.endpoint, "OTEL_SERVICE_NAME": svc}
        e.update(extra or {})
        return base_env(e, preload=preload, more_preload=more_preload)

    def start(self, args, svc, ready, preload=True, extra=None, cwd=None):
        p = Proc(args, self.env(svc, extra, preload), self.tmp, svc, cwd=cwd)
        self.procs.append(p)
        return p.wait_ready(ready)

    def stop(self, proc):
        proc.stop()
        self.procs.remove(proc)

    def backend(self, preload=True, svc="backend", extra=None, host="127.0.0.1"):
        """chain.py backend: (Proc, port, path of its request log)."""
        port = free_port(host=host)
        log = os.path.join(self.tmp, "%s-%d.log" % (svc, port))
        e = {"CHAIN_LOG": log}
        e.update(extra or {})
        p = self.start([PY, CHAIN, "backend", str(port), host], svc, (host, port), preload, e)
        return p, port, log

    def http_server(self, root, preload=True, svc="server", extra=None):
        """python3 -m http.server serving root: (Proc, port)."""
        port = free_port()
        p = self.start([PY, "-m", "http.server", "--bind", "127.0.0.1", str(port)], svc,
                       ("127.0.0.1", port), preload, extra, cwd=root)
        return p, port

    def nginx(self, preload=True, backend_port=None, root=None, svc="nginx", extra=None):
        if not have("nginx"):
            self.skipTest("nginx is not installed (Debian package nginx)")
        port = free_port()
        n = Nginx(self.tmp, port, root or self.www(), backend_port)
        self.nginxes.append(n)
        n.start(self.env(svc, extra, preload), self.tmp)
        return n, port

    def stop_nginx(self, n):
        self.nginxes.remove(n)
        self.assertEqual(self.nginx_stop_problems(n), [])

    def run_prog(self, args, svc, preload=True, extra=None, timeout=60, more_preload=()):
        return subprocess.run(args, env=self.env(svc, extra, preload, more_preload),
                              capture_output=True, timeout=timeout)

    def curl(self, args, svc="curl", preload=True, extra=None):
        if not have("curl"):
            self.skipTest("curl is not installed")
        return self.run_prog(["curl", "-sS", "--max-time", "30"] + list(args), svc, preload,
                             extra)

    def www(self):
        """A document root: good.txt, file.txt, static/{big.bin,small.txt,good.txt}."""
        root = os.path.join(self.tmp, "www")
        if not os.path.isdir(root):
            os.makedirs(os.path.join(root, "static"))
            rnd = random.Random(1234)
            files = {"good.txt": b"good\n", "file.txt": data(10000),
                     "static/good.txt": b"good\n", "static/small.txt": b"small file\n",
                     "static/big.bin": bytes(rnd.getrandbits(8) for _ in range(300 * 1024))}
            for name, content in files.items():
                with open(os.path.join(root, name), "wb") as f:
                    f.write(content)
        return root

    def file(self, name, content):
        path = os.path.join(self.tmp, name)
        with open(path, "wb") as f:
            f.write(content)
        return path

    # -- span assertions --


    def wait_spans(self, n, timeout=10.0, settle=0.5):
        """At least n spans (fail early when none at all arrive), then a pause to catch
        extra ones; all spans received."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            got = len(self.rx.spans(accepted_only=True))
            if got >= n:
                break
            if got == 0 and time.monotonic() > end - timeout + 6:
                break  # nothing at all after 6 s: no point waiting longer
            time.sleep(0.05)
        time.sleep(settle)
        spans = self.rx.spans(accepted_only=True)
        if len(spans) < n:
            self.fail("%d span(s) received, expected %d: %s" % (
                len(spans), n, sorted((service(s), s.get("kind"), s.get("name"))
                                      for s in spans)))
        return spans

    def one(self, spans, kind, svc):
        got = select(spans, kind, svc)
        self.assertEqual(len(got), 1, "one %s span of %s expected: %s" % (
            kind, svc, [(service(s), s["kind"], s["name"]) for s in spans]))
        return got[0]

    def assertChain(self, *chain):
        problems = chain_problems(list(chain))
        self.assertEqual(problems, [], "broken parent chain")

    def assertAttrs(self, span, expected, absent=()):
        attrs = span.get("attributes", {})
        got = {k: attrs.get(k, "<absent>") for k in expected}
        self.assertEqual(got, expected, "%s %s span of %s" % (span["kind"], span["name"],
                                                               service(span)))
        for k in absent:
            self.assertNotIn(k, attrs, "%s %s span of %s" % (span["kind"], span["name"],
                                                             service(span)))

    def assertStatus(self, span, code, error_type=None):
        self.assertEqual(status_code(span), code, span)
        if error_type is None:
            self.assertNotIn("error.type", span["attributes"], span)
        else:
            self.assertEqual(span["attributes"].get("error.type"), error_type, span)

    def client_attrs(self, method, port, target, status, host="127.0.0.1", version="1.1"):
        hp = "[%s]" % host if ":" in host else host
        return {"http.request.method": method, "url.full": "http://%s:%d%s" % (hp, port, target),
                "server.address": host, "server.port": port, "network.peer.address": host,
                "network.peer.port": port, "network.protocol.version": version,
                "http.response.status_code": status}

    def server_attrs(self, method, port, path, status, ua, host="127.0.0.1", version="1.1"):
        return {"http.request.method": method, "url.path": path, "url.scheme": "http",
                "server.address": host, "server.port": port, "client.address": host,
                "network.peer.address": host, "network.protocol.version": version,
                "user_agent.original": ua, "http.response.status_code": status}

    def assertOneTraceparent(self, rec, span):
        """The request logged in rec carried exactly one traceparent: span's context."""
        self.assertEqual(header_values(rec["headers"], "traceparent"), [traceparent(span)],
                         rec)


# ---------------------------------------------------------------------------------------------
# 1. curl -> python3 -m http.server

class CurlToHttpServer(HttpBase):
    def test_client_and_server_span_in_one_trace(self):
        root = self.www()
        target = "/file.txt?a=1&b=two"
        ref_srv, ref_port = self.http_server(root, preload=False)
        ref = self.curl(["http://127.0.0.1:%d%s" % (ref_port, target)], preload=False)
        self.stop(ref_srv)
        srv, port = self.http_server(root)
        p = self.curl(["http://127.0.0.1:%d%s" % (port, target)])
        self.assertEqual((ref.returncode, ref.stdout, ref.stderr), (0, data(10000), b""))
        self.assertEqual((p.returncode, p.stdout, p.stderr), (0, data(10000), b""))

        spans = self.wait_spans(2)
        self.assertEqual(len(spans), 2, spans)
        c = self.one(spans, CLIENT, "curl")
        s = self.one(spans, SERVER, "server")
        self.assertChain(c, s)
        self.assertEqual((c["name"], s["name"]), ("GET", "GET"))
        ca = self.client_attrs("GET", port, target, 200)
        del ca["network.protocol.version"]  # curl asks 1.1, http.server answers 1.0
        self.assertAttrs(c, ca)
        self.assertIn(c["attributes"].get("network.protocol.version"), ("1.0", "1.1"))
        sa = self.server_attrs("GET", port, "/file.txt", 200, CURL_UA)
        sa["url.query"] = "a=1&b=two"
        del sa["network.protocol.version"]
        self.assertAttrs(s, sa, absent=["http.route", "error.type"])
        self.assertIn(s["attributes"].get("network.protocol.version"), ("1.0", "1.1"))
        peer_port = s["attributes"].get("network.peer.port")
        self.assertIsInstance(peer_port, int)
        self.assertNotEqual(peer_port, port)
        self.assertStatus(c, UNSET)
        self.assertStatus(s, UNSET)
        self.assertLessEqual(c["startTimeUnixNano"], s["startTimeUnixNano"])

    def test_host_and_forwarded_for(self):
        """server.address/port come from Host; client.address from X-Forwarded-For."""
        root = self.www()
        srv, port = self.http_server(root)
        p = self.curl(["-H", "Host: shop.example:8443",
                       "-H", "X-Forwarded-For: 203.0.113.7, 198.51.100.2",
                       "http://127.0.0.1:%d/good.txt" % port])
        self.assertEqual((p.returncode, p.stdout), (0, b"good\n"), p.stderr)

        spans = self.wait_spans(2)
        c = self.one(spans, CLIENT, "curl")
        s = self.one(spans, SERVER, "server")
        self.assertChain(c, s)
        self.assertAttrs(c, {"url.full": "http://shop.example:8443/good.txt",
                             "server.address": "shop.example", "server.port": 8443,
                             "network.peer.address": "127.0.0.1",
                             "network.peer.port": port})
        self.assertAttrs(s, {"server.address": "shop.example", "server.port": 8443,
                             "client.address": "203.0.113.7",
                             "network.peer.address": "127.0.0.1", "url.path": "/good.txt"})


# ---------------------------------------------------------------------------------------------
# 2. curl -> frontend -> backend

class ThreeHops(HttpBase):
    def scenario(self, preload):
        b, bport, blog = self.backend(preload)
        fport = free_port()
        f = self.start([PY, CHAIN, "frontend", str(fport), str(bport)], "frontend",
                       ("127.0.0.1", fport), preload, {"CHAIN_LOG": blog + ".front"})
        p = self.curl(["http://127.0.0.1:%d/page?x=1" % fport], preload=preload)
        return p, b, bport, blog, f, fport

    def test_chain_one_trace_four_spans(self):
        ref, b, _, ref_log, f, _ = self.scenario(False)
        self.stop(b)
        self.stop(f)
        p, b, bport, blog, f, fport = self.scenario(True)
        body = b"frontend got 4096 bytes\n" + data()
        self.assertEqual((ref.returncode, ref.stdout, ref.stderr), (0, body, b""))
        self.assertEqual((p.returncode, p.stdout, p.stderr), (0, body, b""))
        # Without the preload nobody adds a traceparent.
        ref_recs = read_log(ref_log)
        self.assertEqual(len(ref_recs), 1)
        self.assertEqual(header_values(ref_recs[0]["headers"], "traceparent"), [])
        recs = read_log(blog)
        self.assertEqual(len(recs), 1)

        spans = self.wait_spans(4)
        self.assertEqual(len(spans), 4, spans)
        cc = self.one(spans, CLIENT, "curl")
        fs = self.one(spans, SERVER, "frontend")
        fc = self.one(spans, CLIENT, "frontend")
        bs = self.one(spans, SERVER, "backend")
        self.assertChain(cc, fs, fc, bs)
        self.assertOneTraceparent(recs[0], fc)
        self.assertAttrs(cc, self.client_attrs("GET", fport, "/page?x=1", 200))
        fsa = self.server_attrs("GET", fport, "/page", 200, CURL_UA)
        fsa["url.query"] = "x=1"
        self.assertAttrs(fs, fsa)
        self.assertAttrs(fc, self.client_attrs("GET", bport, "/data", 200))
        bsa = self.server_attrs("GET", bport, "/data", 200, URLLIB_UA)
        bsa["network.peer.port"] = recs[0]["peer_port"]
        self.assertAttrs(bs, bsa, absent=["url.query"])
        for s in spans:
            self.assertStatus(s, UNSET)
        # Nested in time: each span inside its parent.
        for outer, inner in ((cc, fs), (fs, fc), (fc, bs)):
            self.assertLessEqual(outer["startTimeUnixNano"], inner["startTimeUnixNano"])
        self.assertLessEqual(fc["endTimeUnixNano"], fs["endTimeUnixNano"])


# ---------------------------------------------------------------------------------------------
# 3. nginx: static files (sendfile), reverse proxy, keep-alive through the proxy

class NginxTests(HttpBase):
    def test_static_file_sendfile(self):
        root = self.www()
        with open(os.path.join(root, "static", "big.bin"), "rb") as fh:
            big = fh.read()
        outs = {}
        for preload in (False, True):
            n, port = self.nginx(preload)
            o1, o2 = (os.path.join(self.tmp, "o%d%d" % (preload, i)) for i in (1, 2))
            p = self.curl(["-o", o1, "http://127.0.0.1:%d/static/big.bin" % port,
                           "-o", o2, "http://127.0.0.1:%d/static/small.txt?v=2" % port],
                          preload=preload)
            self.assertEqual((p.returncode, p.stderr), (0, b""))
            with open(o1, "rb") as f1, open(o2, "rb") as f2:
                outs[preload] = (f1.read(), f2.read())
            if not preload:
                self.stop_nginx(n)
        self.assertEqual(outs[False], (big, b"small file\n"))
        self.assertEqual(outs[True], outs[False])

        spans = self.wait_spans(4)
        self.assertEqual(len(spans), 4, spans)
        clients = select(spans, CLIENT, "curl")
        servers = select(spans, SERVER, "nginx")
        self.assertEqual((len(clients), len(servers)), (2, 2))
        for c in clients:
            target = c["attributes"]["url.full"].split("%d" % port, 1)[1]
            path, _, query = target.partition("?")
            s = [x for x in servers if x["attributes"].get("url.path") == path][0]
            self.assertChain(c, s)
            self.assertAttrs(c, self.client_attrs("GET", port, target, 200))
            sa = self.server_attrs("GET", port, path, 200, CURL_UA)
            if query:
                sa["url.query"] = query
            self.assertAttrs(s, sa, absent=[] if query else ["url.query"])
            self.assertStatus(s, UNSET)

    def test_reverse_proxy_four_spans(self):
        bodies = {}
        for preload in (False, True):
            b, bport, blog = self.backend(preload)
            n, port = self.nginx(preload, backend_port=bport)
            p = self.curl(["http://127.0.0.1:%d/api/data?size=3000" % port], preload=preload)
            self.assertEqual((p.returncode, p.stderr), (0, b""))
            bodies[preload] = p.stdout
            recs = read_log(blog)
            self.assertEqual(len(recs), 1)
            if not preload:
                # nginx forwards nothing of its own: no traceparent without the preload.
                self.assertEqual(header_values(recs[0]["headers"], "traceparent"), [])
                self.stop_nginx(n)
                self.stop(b)
        self.assertEqual(bodies[False], data(3000))
        self.assertEqual(bodies[True], bodies[False])

        spans = self.wait_spans(4)
        self.assertEqual(len(spans), 4, spans)
        cc = self.one(spans, CLIENT, "curl")
        ns = self.one(spans, SERVER, "nginx")
        nc = self.one(spans, CLIENT, "nginx")
        bs = self.one(spans, SERVER, "backend")
        self.assertChain(cc, ns, nc, bs)
        # nginx forwarded curl's traceparent: the preload replaced it with its own.
        self.assertOneTraceparent(recs[0], nc)
        self.assertAttrs(ns, {"url.path": "/api/data", "url.query": "size=3000",
                              "http.response.status_code": 200})
        self.assertAttrs(nc, {"http.request.method": "GET",
                              "url.full": "http://127.0.0.1:%d/data?size=3000" % bport,
                              "server.address": "127.0.0.1", "server.port": bport,
                              "network.peer.port": bport, "http.response.status_code": 200})
        # proxy_pass speaks HTTP/1.0 to the backend by default.
        self.assertAttrs(bs, {"url.path": "/data", "url.query": "size=3000",
                              "network.protocol.version": "1.0",
                              "network.peer.port": recs[0]["peer_port"]})

    def test_keepalive_loop_through_proxy(self):
        n_req = 30
        spec = "%d*GET /ka/data?size=64&i={i}" % n_req
        outs = {}
        for preload in (False, True):
            b, bport, blog = self.backend(preload)
            n, port = self.nginx(preload, backend_port=bport)
            p = self.run_prog([PY, CHAIN, "requests", str(port), spec], "pyclient", preload)
            self.assertEqual((p.returncode, p.stderr), (0, b""))
            outs[preload] = p.stdout
            recs = read_log(blog)
            self.assertEqual(len(recs), n_req)
            # The upstream keepalive pool: a few connections, not one per request.
            self.assertLessEqual(len({r["peer_port"] for r in recs}), 4)
            if not preload:
                self.stop_nginx(n)
                self.stop(b)
        lines = outs[False].decode().splitlines()
        self.assertEqual(len(lines), n_req)
        self.assertTrue(all(" 200 64 " in line for line in lines), lines)
        self.assertEqual(outs[True], outs[False])

        spans = self.wait_spans(4 * n_req)
        self.assertEqual(len(spans), 4 * n_req)
        by_query = {}
        for s in spans:
            a = s["attributes"]
            q = a.get("url.query") or a.get("url.full", "").partition("?")[2]
            by_query.setdefault(q, []).append(s)
        for i in range(n_req):
            q = "size=64&i=%d" % i
            group = by_query.get(q, [])
            pc = self.one(group, CLIENT, "pyclient")
            ns = self.one(group, SERVER, "nginx")
            nc = self.one(group, CLIENT, "nginx")
            bs = self.one(group, SERVER, "backend")
            self.assertChain(pc, ns, nc, bs)
            rec = [r for r in recs if r["path"] == "/data?" + q][0]
            self.assertOneTraceparent(rec, nc)
            self.assertEqual(nc["attributes"].get("url.full"),
                             "http://127.0.0.1:%d/data?%s" % (bport, q))
        self.assertEqual(len({s["traceId"] for s in spans}), n_req)


# ---------------------------------------------------------------------------------------------
# 4. node: server, client inside a server handler, client

class NodeTests(HttpBase):
    def test_node_client_inside_handler_is_linked(self):
        node = node_program()
        if not node:
            self.skipTest("node is not installed (Debian package nodejs)")
        outs = {}
        for preload in (False, True):
            back_port, front_port = free_port(), free_port()
            log = os.path.join(self.tmp, "node-back-%d.log" % preload)
            back = self.start([node, NODE_SERVER, str(back_port)], "node-back",
                              ("127.0.0.1", back_port), preload, {"CHAIN_LOG": log})
            front = self.start([node, NODE_SERVER, str(front_port), str(back_port)],
                               "node-front", ("127.0.0.1", front_port), preload)
            p = self.run_prog([node, NODE_CLIENT, "http://127.0.0.1:%d/call" % front_port,
                               "3"], "node-client", preload)
            self.assertEqual((p.returncode, p.stderr), (0, b""))
            outs[preload] = p.stdout
            recs = read_log(log)
            self.assertEqual(len(recs), 3)
            if not preload:
                self.assertEqual(header_values(recs[0]["headers"], "traceparent"), [])
                self.stop(front)
                self.stop(back)
        self.assertEqual(outs[False], b"200 node front got: hello from node\n" * 3)
        self.assertEqual(outs[True], outs[False])

        spans = self.wait_spans(12)
        self.assertEqual(len(spans), 12, spans)
        nc = select(spans, CLIENT, "node-client")
        fs = select(spans, SERVER, "node-front")
        fc = select(spans, CLIENT, "node-front")
        bs = select(spans, SERVER, "node-back")
        self.assertEqual([len(x) for x in (nc, fs, fc, bs)], [3, 3, 3, 3])
        by_parent = {parent(s): s for s in spans if parent(s)}
        for c in nc:
            f_srv = by_parent[c["spanId"]]
            f_cli = by_parent[f_srv["spanId"]]
            b_srv = by_parent[f_cli["spanId"]]
            self.assertChain(c, f_srv, f_cli, b_srv)
            self.assertEqual((service(f_srv), f_srv["kind"], service(f_cli), f_cli["kind"],
                              service(b_srv), b_srv["kind"]),
                             ("node-front", SERVER, "node-front", CLIENT, "node-back", SERVER))
            self.assertAttrs(c, self.client_attrs("GET", front_port, "/call", 200))
            self.assertAttrs(f_cli, self.client_attrs("GET", back_port, "/hello", 200))
            self.assertAttrs(b_srv, {"url.path": "/hello", "http.response.status_code": 200})
            rec = [r for r in recs
                   if header_values(r["headers"], "traceparent") == [traceparent(f_cli)]]
            self.assertEqual(len(rec), 1, "the backend saw the front's CLIENT context once")
        self.assertEqual(len({c["traceId"] for c in nc}), 3)


# ---------------------------------------------------------------------------------------------
# 5. HTTP/1.1 details: keep-alive, pipelining, framing, interim answers, errors, transports

class Http11(HttpBase):
    def test_keepalive_100_requests_one_connection(self):
        n_req = 100
        spec = "%d*GET /data?size=100&i={i}" % n_req
        outs = {}
        for preload in (False, True):
            b, bport, blog = self.backend(preload)
            p = self.run_prog([PY, CHAIN, "requests", str(bport), spec], "pyclient", preload)
            self.assertEqual((p.returncode, p.stderr), (0, b""))
            outs[preload] = p.stdout
            recs = read_log(blog)
            self.assertEqual(len(recs), n_req)
            self.assertEqual(len({r["peer_port"] for r in recs}), 1, "one connection")
            if not preload:
                self.stop(b)
        self.assertEqual(len(outs[False].splitlines()), n_req)
        self.assertEqual(outs[True], outs[False])

        spans = self.wait_spans(2 * n_req)
        self.assertEqual(len(spans), 2 * n_req)
        clients = {c["attributes"].get("url.full"): c for c in select(spans, CLIENT, "pyclient")}
        servers = {s["attributes"].get("url.query"): s for s in select(spans, SERVER, "backend")}
        self.assertEqual((len(clients), len(servers)), (n_req, n_req))
        for i in range(n_req):
            q = "size=100&i=%d" % i
            c = clients["http://127.0.0.1:%d/data?%s" % (bport, q)]
            s = servers[q]
            self.assertChain(c, s)
            self.assertOneTraceparent([r for r in recs if r["path"] == "/data?" + q][0], c)
        self.assertEqual(len({s["traceId"] for s in spans}), n_req)

    def test_host_changes_on_one_connection(self):
        """Attributes a connection's requests share are kept per connection: when Host
        changes between requests on one keep-alive connection, each span has its own."""
        b, bport, blog = self.backend()
        code = ("import http.client, sys\n"
                "c = http.client.HTTPConnection('127.0.0.1', int(sys.argv[1]))\n"
                "for h in ('a.example', 'b.example:81', 'a.example', 'a.example'):\n"
                "    c.request('GET', '/data?size=1&h=' + h, headers={'Host': h})\n"
                "    c.getresponse().read()\n")
        p = self.run_prog([PY, "-c", code, str(bport)], "pyclient")
        self.assertEqual((p.returncode, p.stderr), (0, b""))
        recs = read_log(blog)
        self.assertEqual(len({r["peer_port"] for r in recs}), 1, "one connection")

        spans = self.wait_spans(8)
        clients = sorted(select(spans, CLIENT, "pyclient"), key=lambda s: int(s["startTimeUnixNano"]))
        servers = sorted(select(spans, SERVER, "backend"), key=lambda s: int(s["startTimeUnixNano"]))
        self.assertEqual((len(clients), len(servers)), (4, 4))
        for c, s, (host, port) in zip(clients, servers, [("a.example", 80), ("b.example", 81),
                                                         ("a.example", 80), ("a.example", 80)]):
            self.assertChain(c, s)
            self.assertAttrs(c, {"server.address": host, "server.port": port,
                                 "network.peer.address": "127.0.0.1", "network.peer.port": bport,
                                 "network.protocol.version": "1.1"})
            self.assertAttrs(s, {"server.address": host, "url.scheme": "http",
                                 "network.protocol.version": "1.1"},
                             absent=() if port != 80 else ("server.port",))
            if port != 80:
                self.assertEqual(s["attributes"].get("server.port"), port)

    def pipelined(self, port):
        reqs = b""
        for i, size in ((1, 10), (2, 20), (3, 30)):
            reqs += (b"GET /data?size=%d&p=%d HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s\r\n"
                     % (size, i, port, b"Connection: close\r\n" if i == 3 else b""))
        return reqs

    def test_pipelining_three_requests_in_one_write(self):
        outs = {}
        for preload in (False, True):
            b, bport, _ = self.backend(preload)
            outs[preload] = raw_exchange(("127.0.0.1", bport), self.pipelined(bport))
            if not preload:
                self.stop(b)
        self.assertEqual(outs[False][1], "eof")
        self.assertEqual(outs[False][0].count(b"HTTP/1.1 200 OK\r\n"), 3)
        self.assertEqual(outs[True], outs[False])  # the backend's Date is fixed: byte-exact

        spans = self.wait_spans(3)
        self.assertEqual(len(spans), 3)
        for s in spans:
            self.assertEqual((service(s), s["kind"], parent(s)), ("backend", SERVER, ""))
        self.assertEqual(sorted(s["attributes"].get("url.query") for s in spans),
                         ["size=10&p=1", "size=20&p=2", "size=30&p=3"])
        self.assertEqual(len({s["traceId"] for s in spans}), 3)

    def test_pipelining_to_nginx(self):
        outs = {}
        for preload in (False, True):
            n, port = self.nginx(preload)
            reqs = b"".join(b"GET /static/small.txt?p=%d HTTP/1.1\r\nHost: x\r\n%s\r\n"
                            % (i, b"Connection: close\r\n" if i == 3 else b"")
                            for i in (1, 2, 3))
            resp, end = raw_exchange(("127.0.0.1", port), reqs)
            outs[preload] = (normalize(resp), end)
            if not preload:
                self.stop_nginx(n)
        self.assertEqual(outs[False][0].count(b"HTTP/1.1 200 OK\r\n"), 3)
        self.assertEqual(outs[True], outs[False])

        spans = self.wait_spans(3)
        self.assertEqual(len(spans), 3)
        self.assertEqual(sorted(s["attributes"].get("url.query") for s in spans),
                         ["p=1", "p=2", "p=3"])
        for s in spans:
            self.assertEqual((service(s), s["kind"]), ("nginx", SERVER))

    def test_chunked_response_then_next_request(self):
        outs = {}
        for preload in (False, True):
            b, bport, blog = self.backend(preload)
            p = self.curl(["http://127.0.0.1:%d/chunked" % bport,
                           "http://127.0.0.1:%d/data?size=7" % bport], preload=preload)
            self.assertEqual((p.returncode, p.stderr), (0, b""))
            outs[preload] = p.stdout
            self.assertEqual(len({r["peer_port"] for r in read_log(blog)}), 1)
            if not preload:
                self.stop(b)
        self.assertEqual(outs[False], chainmod.chunked_body() + data(7))
        self.assertEqual(outs[True], outs[False])

        spans = self.wait_spans(4)
        self.assertEqual(len(spans), 4)
        for target, path in (("/chunked", "/chunked"), ("/data?size=7", "/data")):
            c = [s for s in select(spans, CLIENT, "curl")
                 if s["attributes"].get("url.full") == "http://127.0.0.1:%d%s" % (bport, target)]
            srv = [s for s in select(spans, SERVER, "backend")
                   if s["attributes"].get("url.path") == path]
            self.assertEqual((len(c), len(srv)), (1, 1), target)
            self.assertChain(c[0], srv[0])
            self.assertAttrs(c[0], {"http.response.status_code": 200})
            self.assertAttrs(srv[0], {"http.response.status_code": 200})

    def test_head_204_304_404_500_on_one_connection(self):
        specs = ["HEAD /data", "GET /status/204", "GET /status/304", "GET /data?size=5",
                 "GET /status/404", "GET /status/500", "GET /data?size=6"]
        outs = {}
        for preload in (False, True):
            b, bport, blog = self.backend(preload)
            p = self.run_prog([PY, CHAIN, "requests", str(bport)] + specs, "pyclient", preload)
            self.assertEqual((p.returncode, p.stderr), (0, b""))
            outs[preload] = p.stdout
            self.assertEqual(len({r["peer_port"] for r in read_log(blog)}), 1)
            if not preload:
                self.stop(b)
        statuses = [int(line.split()[2]) for line in outs[False].decode().splitlines()]
        self.assertEqual(statuses, [200, 204, 304, 200, 404, 500, 200])
        self.assertEqual(outs[True], outs[False])

        spans = self.wait_spans(14)
        self.assertEqual(len(spans), 14)
        clients = select(spans, CLIENT, "pyclient")
        servers = {s["spanId"]: s for s in select(spans, SERVER, "backend")}
        self.assertEqual((len(clients), len(servers)), (7, 7))
        children = {parent(s): s for s in servers.values()}
        expect = {  # target: (method, status, client status, client error.type, server ...)
            "/data": ("HEAD", 200, UNSET, None, UNSET, None),
            "/status/204": ("GET", 204, UNSET, None, UNSET, None),
            "/status/304": ("GET", 304, UNSET, None, UNSET, None),
            "/data?size=5": ("GET", 200, UNSET, None, UNSET, None),
            "/status/404": ("GET", 404, ERROR, "404", UNSET, None),
            "/status/500": ("GET", 500, ERROR, "500", ERROR, "500"),
            "/data?size=6": ("GET", 200, UNSET, None, UNSET, None),
        }
        seen = set()
        for c in clients:
            target = c["attributes"]["url.full"].split(":%d" % bport, 1)[1]
            method, code, cst, cet, sst, set_ = expect[target]
            seen.add(target)
            s = children.get(c["spanId"])
            self.assertIsNotNone(s, "no server span under the client span of " + target)
            self.assertChain(c, s)
            self.assertEqual((c["name"], s["name"]), (method, method))
            self.assertAttrs(c, {"http.request.method": method,
                                 "http.response.status_code": code})
            self.assertAttrs(s, {"http.request.method": method,
                                 "http.response.status_code": code})
            self.assertStatus(c, cst, cet)
            self.assertStatus(s, sst, set_)
        self.assertEqual(seen, set(expect))

    def test_expect_100_continue(self):
        body = random.Random(5).randbytes(200 * 1024)
        path = self.file("upload.bin", body)
        outs = {}
        for preload in (False, True):
            b, bport, blog = self.backend(preload)
            p = self.curl(["-v", "-H", "Expect: 100-continue", "-H",
                           "Content-Type: application/octet-stream", "--data-binary",
                           "@" + path, "http://127.0.0.1:%d/echo" % bport], preload=preload)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn(b"< HTTP/1.1 100 Continue", p.stderr)  # the interim answer came
            outs[preload] = p.stdout
            recs = read_log(blog)
            self.assertEqual([r["body_len"] for r in recs], [len(body)])
            if not preload:
                self.stop(b)
        self.assertEqual(outs[False], body)
        self.assertEqual(outs[True], body)

        spans = self.wait_spans(2)
        self.assertEqual(len(spans), 2)
        c = self.one(spans, CLIENT, "curl")
        s = self.one(spans, SERVER, "backend")
        self.assertChain(c, s)
        self.assertOneTraceparent(recs[0], c)
        # The final status, not the interim 100.
        self.assertAttrs(c, self.client_attrs("POST", bport, "/echo", 200))
        self.assertAttrs(s, {"http.request.method": "POST", "url.path": "/echo",
                             "http.response.status_code": 200})
        self.assertEqual((c["name"], s["name"]), ("POST", "POST"))

    def test_one_mib_post_echoed_content_length_and_chunked(self):
        body = random.Random(6).randbytes(1024 * 1024)
        path = self.file("big.bin", body)
        outs = {}
        for preload in (False, True):
            b, bport, blog = self.backend(preload)
            url = "http://127.0.0.1:%d/echo" % bport
            p1 = self.curl(["-H", "Expect:", "--data-binary", "@" + path, url], preload=preload)
            p2 = self.curl(["-H", "Expect:", "-H", "Transfer-Encoding: chunked",
                            "--data-binary", "@" + path, url], preload=preload)
            self.assertEqual((p1.returncode, p1.stderr, p2.returncode, p2.stderr),
                             (0, b"", 0, b""))
            outs[preload] = (p1.stdout, p2.stdout)
            recs = read_log(blog)
            self.assertEqual([r["body_len"] for r in recs], [len(body)] * 2)
            self.assertEqual(header_values(recs[1]["headers"], "transfer-encoding"),
                             ["chunked"])
            if not preload:
                self.stop(b)
        self.assertEqual(outs[False], (body, body))
        self.assertEqual(outs[True], (body, body))

        spans = self.wait_spans(4)
        self.assertEqual(len(spans), 4)
        clients = select(spans, CLIENT, "curl")
        for c in clients:
            s = [x for x in spans if parent(x) == c["spanId"]]
            self.assertEqual(len(s), 1)
            self.assertChain(c, s[0])
            self.assertAttrs(s[0], {"http.request.method": "POST",
                                    "http.response.status_code": 200})
            self.assertAttrs(c, {"http.response.status_code": 200})
        self.assertEqual(sorted(header_values(r["headers"], "traceparent")[0] for r in recs),
                         sorted(traceparent(c) for c in clients))

    def test_request_with_its_own_traceparent(self):
        own = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        for preload in (False, True):
            b, bport, blog = self.backend(preload)
            p1 = self.curl(["-H", "traceparent: " + own, "http://127.0.0.1:%d/data" % bport],
                           preload=preload)
            p2 = self.curl(["-H", "TraceParent: " + own, "http://127.0.0.1:%d/data?x" % bport],
                           preload=preload)
            self.assertEqual((p1.returncode, p1.stdout, p2.returncode, p2.stdout),
                             (0, data(), 0, data()))
            recs = read_log(blog)
            self.assertEqual(len(recs), 2)
            for r in recs:  # exactly the program's own header, never a second one
                self.assertEqual(header_values(r["headers"], "traceparent"), [own], r)
            if not preload:
                self.stop(b)

        spans = self.wait_spans(2)
        self.assertEqual(len(spans), 2, spans)
        self.assertEqual(select(spans, CLIENT), [], "no CLIENT span for a program's own "
                                                    "traceparent")
        for s in spans:
            self.assertEqual((service(s), s["kind"]), ("backend", SERVER))
            self.assertEqual((s["traceId"], parent(s)),
                             ("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"))

    def test_connection_reset_mid_response(self):
        results = {}
        for preload in (False, True):
            b, bport, _ = self.backend(preload)
            ph = self.curl(["http://127.0.0.1:%d/reset-head" % bport], preload=preload)
            pb = self.curl(["http://127.0.0.1:%d/reset-body" % bport], preload=preload)
            results[preload] = (ph.returncode, ph.stdout, pb.returncode, pb.stdout)
            if not preload:
                self.stop(b)
        self.assertEqual(results[False], (56, b"", 56, data(1000)))
        self.assertEqual(results[True], results[False])

        spans = self.wait_spans(4)
        self.assertEqual(len(spans), 4, spans)
        clients = {c["attributes"].get("url.full", "").rsplit("/", 1)[1]: c
                   for c in select(spans, CLIENT, "curl")}
        self.assertEqual(set(clients), {"reset-head", "reset-body"})
        for name, c in clients.items():
            self.assertEqual(status_code(c), ERROR, c)
            self.assertTrue(c["attributes"].get("error.type"), c)
            servers = [s for s in select(spans, SERVER, "backend") if parent(s) == c["spanId"]]
            self.assertEqual(len(servers), 1, name)
            self.assertChain(c, servers[0])
        # No response head ever arrived for reset-head: no status code to report.
        self.assertNotIn("http.response.status_code", clients["reset-head"]["attributes"])

    def test_ipv6_loopback(self):
        if not ipv6_available():
            self.skipTest("no IPv6 loopback (::1)")
        outs = {}
        for preload in (False, True):
            b, bport, blog = self.backend(preload, host="::1")
            p = self.curl(["-g", "http://[::1]:%d/data?v=6" % bport], preload=preload)
            self.assertEqual((p.returncode, p.stderr), (0, b""))
            outs[preload] = p.stdout
            if not preload:
                self.stop(b)
        self.assertEqual(outs[False], data())
        self.assertEqual(outs[True], data())

        spans = self.wait_spans(2)
        self.assertEqual(len(spans), 2)
        c = self.one(spans, CLIENT, "curl")
        s = self.one(spans, SERVER, "backend")
        self.assertChain(c, s)
        self.assertAttrs(c, self.client_attrs("GET", bport, "/data?v=6", 200, host="::1"))
        sa = self.server_attrs("GET", bport, "/data", 200, CURL_UA, host="::1")
        sa["url.query"] = "v=6"
        sa["network.peer.port"] = read_log(blog)[0]["peer_port"]
        self.assertAttrs(s, sa)

    def test_unix_socket(self):
        outs = {}
        for preload in (False, True):
            sock = os.path.join(self.tmp, "backend-%d.sock" % preload)
            log = os.path.join(self.tmp, "unix-%d.log" % preload)
            b = self.start([PY, CHAIN, "backend-unix", sock], "backend", sock, preload,
                           {"CHAIN_LOG": log})
            p = self.curl(["--unix-socket", sock, "http://localhost/data?via=unix"],
                          preload=preload)
            self.assertEqual((p.returncode, p.stderr), (0, b""))
            outs[preload] = p.stdout
            recs = read_log(log)
            if not preload:
                self.stop(b)
        self.assertEqual(outs[False], data())
        self.assertEqual(outs[True], data())

        spans = self.wait_spans(2)
        self.assertEqual(len(spans), 2)
        c = self.one(spans, CLIENT, "curl")
        s = self.one(spans, SERVER, "backend")
        self.assertChain(c, s)
        self.assertOneTraceparent(recs[0], c)
        self.assertAttrs(c, {"http.request.method": "GET",
                             "url.full": "http://localhost/data?via=unix",
                             "server.address": "localhost", "http.response.status_code": 200})
        self.assertAttrs(s, {"url.path": "/data", "url.query": "via=unix",
                             "server.address": "localhost", "http.response.status_code": 200})
        for span in (c, s):  # no port on a Unix socket
            self.assertNotIn("network.peer.port", span["attributes"])


# ---------------------------------------------------------------------------------------------
# Configuration: route heuristic, ignored paths, captured headers, disabling

class Config(HttpBase):
    def test_route_heuristic(self):
        b, bport, _ = self.backend(extra={"OTEL_PRELOAD_HTTP_ROUTE": "heuristic"})
        p = self.curl(["http://127.0.0.1:%d/orders/12345" % bport,
                       "http://127.0.0.1:%d/orders/98765?full=1" % bport,
                       "http://127.0.0.1:%d/healthz" % bport])
        self.assertEqual((p.returncode, p.stdout), (0, b"order\norder\nok\n"))

        spans = self.wait_spans(6)
        servers = select(spans, SERVER, "backend")
        self.assertEqual(sorted((s["name"], s["attributes"].get("http.route"))
                                for s in servers),
                         [("GET /healthz", "/healthz"), ("GET /orders/{id}", "/orders/{id}"),
                          ("GET /orders/{id}", "/orders/{id}")])
        # Client spans have no route: named by the method only.
        self.assertEqual([c["name"] for c in select(spans, CLIENT, "curl")], ["GET"] * 3)

    def test_ignored_paths_make_no_server_span(self):
        b, bport, _ = self.backend(extra={
            "OTEL_PRELOAD_HTTP_IGNORE_PATHS": "/healthz,/static/*"})
        p = self.curl(["http://127.0.0.1:%d/healthz" % bport,
                       "http://127.0.0.1:%d/static/app.js?v=1" % bport,
                       "http://127.0.0.1:%d/orders/7" % bport])
        self.assertEqual((p.returncode, p.stdout), (0, b"ok\nstatic\norder\n"))

        spans = self.wait_spans(4)
        self.assertEqual(len(spans), 4, spans)
        self.assertEqual(len(select(spans, CLIENT, "curl")), 3)
        s = self.one(spans, SERVER, "backend")
        self.assertEqual(s["attributes"].get("url.path"), "/orders/7")
        # The request after the ignored ones on the same connection is still linked.
        c = [x for x in select(spans, CLIENT, "curl") if x["spanId"] == parent(s)]
        self.assertEqual(len(c), 1)
        self.assertTrue(c[0]["attributes"]["url.full"].endswith("/orders/7"))

    def test_captured_request_headers_never_authorization(self):
        cap = {"OTEL_PRELOAD_HTTP_CAPTURE_REQUEST_HEADERS": "x-request-id,authorization"}
        b, bport, _ = self.backend(extra=cap)
        p = self.curl(["-H", "X-Request-Id: req-42", "-H", "Authorization: Bearer s3cr3t",
                       "http://127.0.0.1:%d/data" % bport], extra=cap)
        self.assertEqual((p.returncode, p.stdout), (0, data()))

        spans = self.wait_spans(2)
        self.assertEqual(len(spans), 2)
        for s in spans:
            a = s["attributes"]
            self.assertEqual(a.get("http.request.header.x-request-id"), ["req-42"], s)
            self.assertNotIn("http.request.header.authorization", a)
            self.assertNotIn("s3cr3t", json.dumps(a, default=str))

    def test_http_instrumentation_disabled(self):
        off = {"OTEL_PRELOAD_DISABLED_INSTRUMENTATIONS": "http"}
        b, bport, blog = self.backend(extra=off)
        p = self.curl(["http://127.0.0.1:%d/data" % bport], extra=off)
        self.assertEqual((p.returncode, p.stdout), (0, data()))
        self.assertEqual(header_values(read_log(blog)[0]["headers"], "traceparent"), [])
        time.sleep(0.8)
        self.assertEqual(self.rx.spans(), [])
        # Disabled in the server only: the client's span and header, nothing from the server.
        self.rx.clear()
        p = self.curl(["http://127.0.0.1:%d/data?two" % bport])
        self.assertEqual((p.returncode, p.stdout), (0, data()))

        spans = self.wait_spans(1)
        self.assertEqual(len(spans), 1, spans)
        c = self.one(spans, CLIENT, "curl")
        self.assertOneTraceparent(read_log(blog)[1], c)


# ---------------------------------------------------------------------------------------------
# 6. Bad input: servers behave exactly as without the preload

def bad_inputs():
    rnd = random.Random(66)
    garbage = bytes(rnd.getrandbits(8) for _ in range(4096))
    return [
        ("malformed", b"GARBAGE\r\n\r\n"),
        ("binary", garbage + b"\r\n\r\n"),
        ("long-header", b"GET /good.txt HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 65536
         + b"\r\nConnection: close\r\n\r\n"),
        ("1000-headers", b"GET /good.txt HTTP/1.1\r\nHost: x\r\n"
         + b"".join(b"X-H%d: v%d\r\n" % (i, i) for i in range(1000))
         + b"Connection: close\r\n\r\n"),
        ("nul-bytes", b"GET /go\x00od.txt HTTP/1.1\r\nHost: x\r\nX-Nul: a\x00b\r\n"
         b"Connection: close\r\n\r\n"),
        ("http-9", b"GET /good.txt HTTP/9.9\r\nHost: x\r\n\r\n"),
        ("negative-length", b"POST /good.txt HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n"
         b"Connection: close\r\n\r\nabc"),
        ("two-lengths", b"POST /good.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
         b"Content-Length: 4\r\nConnection: close\r\n\r\nabcd"),
        ("bad-chunk", b"POST /good.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
         b"Connection: close\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"),
        ("cut-head", b"GET /good.txt HTTP/1.1\r\nHost: x\r\n"),
        ("bare-lf", b"GET /good.txt HTTP/1.1\nHost: x\nConnection: close\n\n"),
        ("tls-hello", b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + garbage[:160]),
    ]


class BadInput(HttpBase):
    def check_server(self, start, good_path):
        results = {}
        for preload in (False, True):
            proc, port, stop = start(preload)
            got = []
            for name, payload in bad_inputs():
                resp, end = raw_exchange(("127.0.0.1", port), payload, timeout=5)
                got.append((name, normalize(resp), end))
            self.assertTrue(proc.alive(), "the server died (preload=%s)" % preload)
            resp, end = raw_exchange(("127.0.0.1", port),
                                     b"GET %s?final=1 HTTP/1.1\r\nHost: x\r\n"
                                     b"Connection: close\r\n\r\n" % good_path.encode())
            got.append(("good", normalize(resp), end))
            results[preload] = got
            if not preload:
                stop()
        self.assertIn(b" 200 OK\r\n", results[False][-1][1])
        for ref, inst in zip(results[False], results[True]):
            self.assertEqual(inst, ref, "response to %s differs under the preload" % ref[0])
        return port

    def good_server_span(self, svc, path):
        spans = self.wait_spans(1)
        # Some bad inputs are still requests for the same path (a 64 KiB header line gets a
        # 431, NUL bytes in a value may be accepted): what they produce is not specified. The
        # last request (?final=1) has its span, answered 200.
        good = [s for s in select(spans, SERVER, svc)
                if s["attributes"].get("url.query") == "final=1"]
        self.assertEqual(len(good), 1, spans)
        self.assertAttrs(good[0], {"url.path": path, "http.response.status_code": 200})

    def test_python_http_server(self):
        root = self.www()

        def start(preload):
            proc, port = self.http_server(root, preload)
            return proc, port, lambda: self.stop(proc)
        self.check_server(start, "/good.txt")
        self.good_server_span("server", "/good.txt")

    def test_nginx(self):
        def start(preload):
            n, port = self.nginx(preload)
            return n.proc, port, lambda: self.stop_nginx(n)
        self.check_server(start, "/static/good.txt")
        for n in self.nginxes:
            self.assertNotIn(b"[alert]", n.error_log())
            self.assertNotIn(b"signal", n.error_log())
        self.good_server_span("nginx", "/static/good.txt")


# ---------------------------------------------------------------------------------------------
# 7. Not HTTP: bytes pass untouched, no spans

class Passthrough(HttpBase):
    def payloads(self):
        rnd = random.Random(77)
        http_inside = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
        settings = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
        return {
            "tls": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + rnd.randbytes(500)
                   + http_inside,
            "h2-preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + settings + http_inside,
            "resp": b"*1\r\n$4\r\nPING\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
                    + http_inside,
            "binary": rnd.randbytes(64 * 1024),
        }

    def test_non_http_bytes_untouched(self):
        port = free_port()
        log = os.path.join(self.tmp, "echo.log")
        self.start([PY, CHAIN, "echo", str(port)], "echo", ("127.0.0.1", port), True,
                   {"CHAIN_LOG": log})
        payloads = self.payloads()
        for name, payload in payloads.items():
            hexfile = self.file(name + ".hex", payload.hex().encode())
            p = self.run_prog([PY, CHAIN, "rawclient", str(port), hexfile], "raw-" + name)
            self.assertEqual((p.returncode, p.stderr), (0, b""), name)
            self.assertEqual(sha(p.stdout), sha(payload), "%s: echoed bytes differ" % name)

        def received():  # the readiness probe's empty connection aside
            return [bytes.fromhex(r["recv"]) for r in read_log(log) if r["recv"]]
        deadline = time.monotonic() + 5
        while len(received()) < len(payloads) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(sorted(sha(b) for b in received()),
                         sorted(sha(b) for b in payloads.values()),
                         "the server received other bytes than were sent")
        time.sleep(0.8)
        self.assertEqual([(service(s), s["kind"], s["name"]) for s in self.rx.spans()], [])


# ---------------------------------------------------------------------------------------------
# 8. Stress: randomized exchanges, faults below the preload, every byte checked

class Stress(HttpBase):
    asan_ok = True

    def stress(self, seed, extra_args=(), preload=True, fault=True, n=STRESS_N):
        """Run `stress run`; its summary counts (a dict) and the fault counts (a dict)."""
        stats = os.path.join(self.tmp, "fault-%d.txt" % seed)
        more = (fault_lib(),) if fault else ()
        # A queue for every span, and time at exit to export what is still queued: the span
        # checks below count them all. (The default 2 s bound at exit, tested elsewhere, is
        # not always enough for the test receiver to take the last batches on a busy machine.)
        env = {"FAULT_SEED": str(seed), "FAULT_RATE": "0.1", "FAULT_STATS": stats,
               "OTEL_BSP_MAX_QUEUE_SIZE": str(4 * n), "OTEL_PRELOAD_SHUTDOWN_TIMEOUT": "30000"}
        p = self.run_prog([stress_program(), "run", str(n), str(seed)] + list(extra_args),
                          "stress", preload, env, timeout=170, more_preload=more)
        self.assertEqual(p.returncode, 0, p.stderr.decode(errors="replace")[-3000:])
        self.assertEqual(p.stderr, b"")
        self.assertTrue(p.stdout.startswith(b"stress: ok "), p.stdout)
        summary = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", p.stdout.decode())}
        self.assertEqual(summary["exchanges"], n)
        faults = {}
        if fault:
            with open(stats) as f:
                for line in f:
                    for k, v in re.findall(r"(\w+)=(\d+)", line):
                        if k != "pid":
                            faults[k] = faults.get(k, 0) + int(v)
        return summary, faults

    def check_stress_spans(self, summary, n=STRESS_N):
        """Every request carried one traceparent; one CLIENT and one SERVER span per exchange,
        each SERVER span the child of a CLIENT span; methods and statuses as sent."""
        self.assertEqual(summary["traceparent"], n, "every request carries one traceparent")
        spans = self.wait_spans(2 * n, timeout=30)
        clients = {c["spanId"]: c for c in select(spans, CLIENT, "stress")}
        servers = select(spans, SERVER, "stress")
        self.assertEqual((len(clients), len(servers), len(spans)), (n, n, 2 * n))
        orphans = [s for s in servers if parent(s) not in clients]
        self.assertEqual(len(orphans), 0, orphans[:3])
        self.assertEqual(len({parent(s) for s in servers}), n, "one SERVER span per CLIENT span")
        for s in servers:
            self.assertEqual(s["traceId"], clients[parent(s)]["traceId"])

        def count(group, attr, value):
            return sum(1 for x in group if x["attributes"].get(attr) == value)
        for group in (list(clients.values()), servers):
            self.assertEqual(count(group, "http.request.method", "HEAD"), summary["head"])
            self.assertEqual(count(group, "http.request.method", "_OTHER"),
                             summary["other_methods"])
            self.assertEqual(count(group, "http.response.status_code", 204), summary["s204"])
            self.assertEqual(count(group, "http.response.status_code", 304), summary["s304"])
            self.assertEqual(count(group, "http.response.status_code", 200),
                             n - summary["s204"] - summary["s304"])
            self.assertEqual([x for x in group if status_code(x) != UNSET][:3], [])

    def test_stress_program_alone(self):
        summary, _ = self.stress(11, preload=False, fault=False, n=2000)
        self.assertEqual(summary["traceparent"], 0)

    def test_fault_library_alone(self):
        summary, faults = self.stress(12, ["--nonblock"], preload=False, n=2000)
        self.assertEqual(summary["traceparent"], 0)
        for k in ("short_writes", "short_reads", "eintr", "eagain"):
            self.assertGreater(faults.get(k, 0), 0, (k, faults))

    def test_preload_with_faults_blocking(self):
        summary, faults = self.stress(13)
        self.assertGreater(faults["short_writes"], 0)
        self.assertGreater(faults["short_reads"], 0)
        self.check_stress_spans(summary)

    def test_preload_with_faults_nonblocking_tiny_sndbuf(self):
        summary, faults = self.stress(14, ["--nonblock", "--sndbuf", "4096"])
        self.assertGreater(faults["eagain"], 0)
        self.check_stress_spans(summary)


if __name__ == "__main__":
    unittest.main(verbosity=2)
