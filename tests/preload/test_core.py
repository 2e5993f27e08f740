"""Integration tests of the core: real programs under LD_PRELOAD, a real OTLP/HTTP receiver.

Run by `meson test` (suite 'preload'), which sets OTELP_LIB, OTELP_HOST_API,
OTELP_HOST_EARLY and OTELP_PROTO_PY. Every test starts its own receiver on 127.0.0.1.
"""
import os
import resource
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from receiver import Receiver  # noqa: E402

LIB = os.environ["OTELP_LIB"]
HOST = os.environ["OTELP_HOST_API"]
HOST_EARLY = os.environ["OTELP_HOST_EARLY"]
ASAN = os.environ.get("OTELP_ASAN_RUNTIME", "")


def preload_value():
    return f"{ASAN}:{LIB}" if ASAN else LIB


def base_env(extra=None, preload=True):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL")}
    env.pop("LD_PRELOAD", None)
    if ASAN:
        # Leak reports from the host programs are not what these tests check.
        env["ASAN_OPTIONS"] = "detect_leaks=0:verify_asan_link_order=0"
    if preload:
        env["LD_PRELOAD"] = preload_value()
    env["OTEL_BSP_SCHEDULE_DELAY"] = "200"
    env["OTEL_PRELOAD_TEST_BACKOFF_SCALE"] = "0.01"
    if extra:
        env.update(extra)
    return env


def run(args, env, timeout=60, **kw):
    return subprocess.run(args, env=env, capture_output=True, timeout=timeout, **kw)


def by_name(spans):
    out = {}
    for s in spans:
        out.setdefault(s["name"], []).append(s)
    return out


class Base(unittest.TestCase):
    script = None

    def setUp(self):
        self.rx = Receiver(script=self.script) if self.script else Receiver()
        self.rx.start()

    def tearDown(self):
        self.rx.stop()

    def env(self, extra=None, **kw):
        e = {"OTEL_EXPORTER_OTLP_ENDPOINT": self.rx.endpoint, "OTEL_SERVICE_NAME": "host-api"}
        e.update(extra or {})
        return base_env(e, **kw)


class PublicApi(Base):
    def test_spans_arrive_with_ids_parents_resource_attributes(self):
        p = run([HOST, "basic"], self.env())
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr, b"")
        self.assertTrue(self.rx.wait_for_spans(2, 10))
        spans = by_name(self.rx.spans())
        root, child = spans["root-op"][0], spans["child-op"][0]
        self.assertEqual(len(self.rx.spans()), 2)
        # The printed traceparent is the root span's context.
        tp = p.stdout.decode().strip().split("=", 1)[1]
        self.assertEqual(tp, f"00-{root['traceId']}-{root['spanId']}-03")
        self.assertEqual(child["traceId"], root["traceId"])
        self.assertEqual(child["parentSpanId"], root["spanId"])
        self.assertFalse(root.get("parentSpanId"))
        self.assertEqual(root["kind"], "SPAN_KIND_SERVER")
        self.assertEqual(child["kind"], "SPAN_KIND_CLIENT")
        # W3C flags sampled|random, plus "is-remote known" (local parent).
        self.assertEqual(root["flags"], 0x103)
        self.assertEqual(child["flags"], 0x103)
        self.assertEqual(root["attributes"], {"app.user": "alice", "app.items": 42,
                                              "app.ratio": 0.25, "app.cached": True})
        self.assertEqual(child["status"]["code"], "STATUS_CODE_ERROR")
        self.assertEqual(child["status"]["message"], "backend timed out")
        self.assertEqual(child["attributes"]["error.type"], "TimeoutError")
        events = {e["name"]: e for e in child["events"]}
        self.assertEqual(events["exception"]["attributes"]["exception.message"],
                         "backend timed out")
        self.assertEqual(events["retrying"]["attributes"]["app.attempt"], "2")
        self.assertLessEqual(int(root["startTimeUnixNano"]), int(child["startTimeUnixNano"]))
        self.assertLessEqual(int(child["endTimeUnixNano"]), int(root["endTimeUnixNano"]))
        res = root["resource"]
        self.assertEqual(res["service.name"], "host-api")
        self.assertEqual(res["telemetry.sdk.name"], "otelpreload")
        self.assertEqual(res["process.executable.name"], "host-api")
        self.assertIsInstance(res["process.pid"], int)
        req = self.rx.requests[0]
        self.assertEqual(req["path"], "/v1/traces")
        self.assertEqual(req["headers"].get("Content-Type"), "application/x-protobuf")
        self.assertIn("otelpreload", req["headers"].get("User-Agent", ""))

    def test_runs_unchanged_without_the_preload(self):
        p = run([HOST, "basic"], self.env(preload=False))
        self.assertEqual((p.returncode, p.stdout, p.stderr), (0, b"traceparent=\n", b""))

    @unittest.skipIf(ASAN, "ASan's pthread_create interceptor runs before ours")
    def test_threads_inherit_context(self):
        p = run([HOST, "threads"], self.env())
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(self.rx.wait_for_spans(2, 10))
        spans = by_name(self.rx.spans())
        self.assertEqual(spans["in-thread"][0]["parentSpanId"], spans["spawner"][0]["spanId"])

    def test_json_protocol(self):
        p = run([HOST, "basic"], self.env({"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(self.rx.wait_for_spans(2, 10))
        self.assertEqual(self.rx.requests[0]["headers"].get("Content-Type"), "application/json")
        names = sorted(s["name"] for s in self.rx.spans())
        self.assertEqual(names, ["child-op", "root-op"])

    def test_gzip(self):
        p = run([HOST, "basic"], self.env({"OTEL_EXPORTER_OTLP_COMPRESSION": "gzip"}))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(self.rx.wait_for_spans(2, 10))
        self.assertEqual(self.rx.requests[0]["headers"].get("Content-Encoding"), "gzip")

    def test_traces_endpoint_and_headers(self):
        e = self.env({"OTEL_EXPORTER_OTLP_ENDPOINT": "",
                      "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": self.rx.endpoint + "/custom/path",
                      "OTEL_EXPORTER_OTLP_HEADERS": "x-api-key=s%20cret,x-team=obs"})
        p = run([HOST, "basic"], e)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(self.rx.wait_for_spans(2, 10))
        req = self.rx.requests[0]
        self.assertEqual(req["path"], "/custom/path")
        self.assertEqual(req["headers"].get("x-api-key"), "s cret")
        self.assertEqual(req["headers"].get("x-team"), "obs")

    def test_sdk_disabled_sends_nothing(self):
        p = run([HOST, "basic"], self.env({"OTEL_SDK_DISABLED": "true"}))
        self.assertEqual((p.returncode, p.stdout, p.stderr), (0, b"traceparent=\n", b""))
        time.sleep(0.5)
        self.assertEqual(self.rx.requests, [])

    def test_always_off_sampler_sends_nothing_but_propagates(self):
        p = run([HOST, "basic"], self.env({"OTEL_TRACES_SAMPLER": "always_off"}))
        self.assertEqual(p.returncode, 0, p.stderr)
        tp = p.stdout.decode().strip().split("=", 1)[1]
        self.assertRegex(tp, r"^00-[0-9a-f]{32}-[0-9a-f]{16}-02$")
        time.sleep(0.5)
        self.assertEqual(self.rx.spans(), [])

    def test_console_exporter_writes_stderr_only(self):
        p = run([HOST, "basic"], self.env({"OTEL_TRACES_EXPORTER": "console"}))
        self.assertEqual(p.returncode, 0)
        self.assertTrue(p.stdout.startswith(b"traceparent=00-"))
        lines = p.stderr.decode().splitlines()
        self.assertEqual(len(lines), 2, lines)
        self.assertTrue(any("root-op" in l for l in lines))
        self.assertEqual(self.rx.requests, [])

    def test_invalid_value_one_warning_then_default(self):
        p = run([HOST, "basic"], self.env({"OTEL_BSP_MAX_QUEUE_SIZE": "lots"}))
        self.assertEqual(p.returncode, 0)
        err = p.stderr.decode()
        self.assertEqual(err.count("OTEL_BSP_MAX_QUEUE_SIZE=lots"), 1, err)
        self.assertEqual(len(err.splitlines()), 1, err)
        self.assertTrue(self.rx.wait_for_spans(2, 10))

    def test_early_constructor_host(self):
        p = run([HOST_EARLY], self.env())
        self.assertEqual((p.returncode, p.stdout), (0, b"ok\n"), p.stderr)
        self.assertTrue(self.rx.wait_for_spans(2, 10))
        names = sorted(s["name"] for s in self.rx.spans())
        self.assertEqual(names, ["from-early-constructor", "from-main"])

    def test_daemon_closing_all_fds_still_exports(self):
        p = run([HOST, "closefds"], self.env())
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(self.rx.wait_for_spans(2, 10))
        names = sorted(s["name"] for s in self.rx.spans())
        self.assertEqual(names, ["after-close", "before-close"])


class Fork(Base):
    # LLVM 14's ASan runtime is not fork-safe while another thread creates threads (curl's
    # resolver in our exporter): the child's thread creation can block. glibc is fork-safe;
    # the uninstrumented run covers this, and test-bsp covers the fork path under ASan.
    @unittest.skipIf(ASAN, "ASan 14 runtime is not fork-safe during thread creation")
    def test_child_exports_its_own_spans_parent_spans_once(self):
        p = run([HOST, "fork"], self.env())
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, b"child exit 0\n")
        self.assertTrue(self.rx.wait_for_spans(3, 10))
        time.sleep(0.5)
        spans = by_name(self.rx.spans())
        self.assertEqual(len(spans["parent-before-fork"]), 1)
        self.assertEqual(len(spans["parent-after-fork"]), 1)
        self.assertEqual(len(spans["child-after-fork"]), 1)
        child = spans["child-after-fork"][0]
        parent = spans["parent-after-fork"][0]
        self.assertEqual(child["resource"]["process.pid"], child["attributes"]["child.pid"])
        self.assertNotEqual(child["resource"]["process.pid"], parent["resource"]["process.pid"])
        self.assertEqual(len(self.rx.spans()), 3)


class Retry(Base):
    script = [503, 503, 200]

    def test_503_503_200_delivered_exactly_once(self):
        p = run([HOST, "basic"], self.env())
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(self.rx.wait_for_spans(2, 15))
        self.assertEqual(len(self.rx.requests), 3)
        bodies = {r["body"] for r in self.rx.requests}
        self.assertEqual(len(bodies), 1)  # the same batch, retried
        # Spans as accepted by the receiver (the 200): exactly once each.
        self.assertEqual(sorted(s["name"] for s in self.rx.spans(accepted_only=True)),
                         ["child-op", "root-op"])


class NoRetryOn400(Base):
    script = [400, 200]

    def test_400_not_retried(self):
        p = run([HOST, "basic"], self.env())
        self.assertEqual(p.returncode, 0, p.stderr)
        time.sleep(1.0)
        self.assertEqual(len(self.rx.requests), 1)


class DeadCollector(unittest.TestCase):
    def test_exit_bounded_when_receiver_is_down(self):
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()  # nothing listens there now
        env = base_env({"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
                        "OTEL_PRELOAD_SHUTDOWN_TIMEOUT": "1000",
                        "OTEL_PRELOAD_TEST_BACKOFF_SCALE": "1"})
        t0 = time.monotonic()
        p = run([HOST, "exit-fast"], env)
        elapsed = time.monotonic() - t0
        self.assertEqual(p.returncode, 3)
        self.assertEqual(p.stderr, b"")
        # Bounded by the shutdown timeout (1 s) plus process start; the export alone would
        # retry for far longer. Generous margin: this checks a bound, not speed.
        self.assertLess(elapsed, 4.0)

    def test_exit_bounded_when_receiver_hangs(self):
        rx = Receiver(delay=30)
        rx.start()
        try:
            env = base_env({"OTEL_EXPORTER_OTLP_ENDPOINT": rx.endpoint,
                            "OTEL_PRELOAD_SHUTDOWN_TIMEOUT": "1000"})
            t0 = time.monotonic()
            p = run([HOST, "exit-fast"], env)
            self.assertEqual(p.returncode, 3)
            self.assertLess(time.monotonic() - t0, 4.0)
        finally:
            rx.stop()


class Burst(Base):
    def maxrss_kib(self, n):
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        p = run([HOST, "burst", str(n)], self.env({"OTEL_BSP_MAX_QUEUE_SIZE": "2048",
                                                  "OTEL_PRELOAD_LOG_FILE": self.log}))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, b"burst done\n")
        return p, max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)

    def setUp(self):
        super().setUp()
        self.log = f"/tmp/otelp-burst-{os.getpid()}.log"
        if os.path.exists(self.log):
            os.unlink(self.log)

    def tearDown(self):
        super().tearDown()
        if os.path.exists(self.log):
            os.unlink(self.log)

    def test_burst_never_blocks_drops_counted(self):
        p, _ = self.maxrss_kib(10000)
        time.sleep(1.0)
        got = len(self.rx.spans())
        self.assertGreater(got, 0)
        self.assertLessEqual(got, 10000)
        with open(self.log) as f:
            log = f.read()
        if got < 10000:
            # Every span is delivered or counted: the exit report names the loss.
            import re
            m = re.search(r"spans lost: (\d+)", log)
            self.assertIsNotNone(m, log)
            self.assertEqual(int(m.group(1)) + got, 10000, log)

    def test_memory_bounded(self):
        _, rss_small = self.maxrss_kib(10000)
        _, rss_big = self.maxrss_kib(200000)
        # 20x the spans, bounded queue and pool: memory must not follow.
        self.assertLess(rss_big, rss_small * 1.5 + 4096, (rss_small, rss_big))


class Signals(Base):
    def start_idle(self, preload=True):
        p = subprocess.Popen([HOST, "idle"], env=self.env(preload=preload),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(p.stdout.readline(), b"ready\n")
        return p

    def test_sigterm_flushes_then_dies_of_the_signal(self):
        p = self.start_idle()
        p.send_signal(signal.SIGTERM)
        p.wait(10)
        self.assertEqual(p.returncode, -signal.SIGTERM)
        self.assertTrue(self.rx.wait_for_spans(3, 5))
        self.assertEqual([s["name"] for s in self.rx.spans()], ["before-signal"] * 3)
        self.assertEqual(p.stderr.read(), b"")

    def test_same_status_without_preload(self):
        p = self.start_idle(preload=False)
        p.send_signal(signal.SIGTERM)
        p.wait(10)
        self.assertEqual(p.returncode, -signal.SIGTERM)

    @unittest.skipIf(ASAN, "uninstrumented programs with the ASan runtime preloaded")
    def test_program_sees_default_disposition(self):
        code = ("import signal; print(signal.getsignal(signal.SIGTERM), "
                "signal.getsignal(signal.SIGHUP))")
        a = run(["/usr/bin/python3", "-c", code], self.env(preload=False))
        b = run(["/usr/bin/python3", "-c", code], self.env())
        self.assertEqual(a.stdout, b.stdout)
        self.assertEqual(b.stdout, b"0 0\n")  # SIG_DFL is 0


@unittest.skipIf(ASAN, "uninstrumented programs with the ASan runtime preloaded")
class HostUnchanged(unittest.TestCase):
    """The host must never notice us: same stdout, stderr, exit code."""

    def compare(self, args):
        env = base_env({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"})
        a = run(args, base_env(preload=False))
        b = run(args, env)
        self.assertEqual((a.returncode, a.stdout, a.stderr), (b.returncode, b.stdout, b.stderr))
        return b

    def test_python_print(self):
        p = self.compare(["/usr/bin/python3", "-c", "print(1)"])
        self.assertEqual((p.returncode, p.stdout), (0, b"1\n"))

    def test_true(self):
        self.assertEqual(self.compare(["/bin/true"]).returncode, 0)

    def test_false(self):
        self.assertEqual(self.compare(["/bin/false"]).returncode, 1)

    def test_shell_pipeline(self):
        self.compare(["/bin/sh", "-c", "echo hello | tr a-z A-Z; exit 7"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
