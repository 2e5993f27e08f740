"""Integration tests of the Redis (hiredis) instrumentation against a real redis-server, per
docs/databases.md (common part and "Redis").

A private redis-server (scripts/redis.sh: 127.0.0.1 on a free port, and a Unix socket) runs for
the whole module; spans go to tests/preload/receiver.py. Each scenario runs a program once
without the preload (the reference) and once under it, the database flushed before each run:
outputs must be byte-identical, then the spans must be exactly the ones the documentation
describes.

Run by `meson test` (suite 'preload'), or by hand:
    OTELP_LIB=build/hooks/libotelpreload.so OTELP_PROTO_PY=build/proto \\
        /usr/bin/python3 tests/redis/test_hiredis.py [-k pattern]
Environment: OTELP_REDIS_ALL (tests/redis/redis-all.c), OTELP_REDIS_DLOPEN
(tests/redis/redis-dlopen.c): built here with cc when unset (libhiredis-dev, libevent-dev).
OTELP_ASAN_RUNTIME (ASan builds): only our own programs run (built with ASan by meson);
the Python and curl cases are skipped, as in tests/preload.
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "preload"))
from receiver import Receiver  # noqa: E402
from httpkit import (ASAN, CLIENT, ERROR, PY, SERVER, UNSET, Proc, base_env,  # noqa: E402
                     free_port, have, parent, select, service, status_code)

REDIS_SH = os.path.join(REPO, "scripts", "redis.sh")
CTYPES_SERVER = os.path.join(HERE, "ctypes_server.py")

STACK_LINE = re.compile(r"^#(\d+) 0x[0-9a-f]{16} (\S+) \((.*)\)$")


# ---- programs ----

_built = {}


def program(kind):
    """Path of redis-all or redis-dlopen: from the environment, else built with cc."""
    var = {"all": "OTELP_REDIS_ALL", "dlopen": "OTELP_REDIS_DLOPEN"}[kind]
    if os.environ.get(var):
        return os.environ[var]
    if kind in _built:
        return _built[kind]
    if ASAN:
        raise unittest.SkipTest("%s unset: a program built here would lack ASan" % var)
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        raise unittest.SkipTest("%s unset and no C compiler" % var)
    d = tempfile.mkdtemp(prefix="otelp-redis-build-")
    import atexit
    atexit.register(shutil.rmtree, d, True)
    flags = ["-std=gnu11", "-O2", "-g", "-Wall", "-Wextra", "-D_GNU_SOURCE"]
    if kind == "all":
        out = os.path.join(d, "redis-all")
        cmd = [cc] + flags + [os.path.join(HERE, "redis-all.c"), "-o", out, "-lhiredis",
                              "-levent"]
    else:
        out = os.path.join(d, "redis-dlopen")
        cmd = [cc] + flags + [os.path.join(HERE, "redis-dlopen.c"), "-o", out, "-ldl"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise unittest.SkipTest("cannot build %s (libhiredis-dev, libevent-dev?): %s"
                                % (kind, r.stderr[-500:]))
    _built[kind] = out
    return out


# ---- redis ----

def redis_command(port, *args):
    """One command on a fresh TCP connection (no preload involved); the raw reply line."""
    payload = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode() if isinstance(a, str) else a
        payload += b"$%d\r\n%s\r\n" % (len(a), a)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(payload)
        out = b""
        while not out.endswith(b"\r\n"):
            b = s.recv(4096)
            if not b:
                break
            out += b
    return out


def read_stamps(path):
    """{(label, index): CLOCK_REALTIME ns} from a REDIS_ALL_STAMPS file."""
    out = {}
    with open(path) as f:
        for line in f:
            label, i, ns = line.split()
            out[(label, int(i))] = int(ns)
    return out


def attrs(span):
    return span.get("attributes", {})


def text(span):
    return attrs(span).get("db.query.text")


def by_start(spans):
    return sorted(spans, key=lambda s: (s["startTimeUnixNano"], s["endTimeUnixNano"]))


class RedisBase(unittest.TestCase):
    # Our own programs are built like the library (with ASan in an ASan build); Python and
    # curl are not and cannot run with the ASan runtime preloaded.
    asan_ok = True

    @classmethod
    def setUpClass(cls):
        if not shutil.which("redis-server") and not os.path.exists("/usr/bin/redis-server"):
            raise unittest.SkipTest("redis-server is not installed (Debian package redis-server)")
        # Short path: the Unix socket must fit in sun_path.
        cls.rdir = tempfile.mkdtemp(prefix="otelp-redis-", dir="/tmp")
        env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
        r = subprocess.run([REDIS_SH, "start", cls.rdir], env=env, capture_output=True,
                           text=True, timeout=60)
        if r.returncode != 0:
            shutil.rmtree(cls.rdir, ignore_errors=True)
            raise RuntimeError("scripts/redis.sh start failed: %s%s" % (r.stdout, r.stderr))
        vals = {}
        with open(os.path.join(cls.rdir, "env")) as f:
            for line in f:
                k, _, v = line.strip().partition("=")
                vals[k] = v
        cls.port = int(vals["REDIS_PORT"])
        cls.sock = vals["REDIS_SOCK"]

    @classmethod
    def tearDownClass(cls):
        subprocess.run([REDIS_SH, "stop", cls.rdir], capture_output=True, timeout=60)
        shutil.rmtree(cls.rdir, ignore_errors=True)

    def setUp(self):
        if ASAN and not self.asan_ok:
            self.skipTest("uninstrumented programs cannot run with the ASan runtime preloaded")
        self.tmp = tempfile.mkdtemp(prefix="otelp-redis-test-")
        self.rx = Receiver().start()
        self.procs = []

    def tearDown(self):
        for p in reversed(self.procs):
            p.stop()
        self.rx.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- running --

    def env(self, svc, extra=None, preload=True):
        e = {"OTEL_EXPORTER_OTLP_ENDPOINT": self.rx.endpoint, "OTEL_SERVICE_NAME": svc}
        e.update(extra or {})
        return base_env(e, preload=preload)

    def flush(self):
        self.assertEqual(redis_command(self.port, "FLUSHALL"), b"+OK\r\n")

    def run_all(self, mode, svc, preload=True, extra=None, port=None, sock=None):
        self.flush()
        args = [program("all"), mode, str(port or self.port), sock or self.sock]
        return subprocess.run(args, env=self.env(svc, extra, preload), capture_output=True,
                              timeout=120)

    def same_output(self, mode, svc, extra=None, port=None, sock=None, stamps=False):
        """Run mode without then with the preload; both must succeed with the same output.
        Returns the run under the preload (and the stamps, with stamps=True)."""
        ref = self.run_all(mode, svc + "-ref", False, extra, port, sock)
        e = dict(extra or {})
        path = None
        if stamps:
            path = os.path.join(self.tmp, "stamps-" + mode)
            e["REDIS_ALL_STAMPS"] = path
        got = self.run_all(mode, svc, True, e, port, sock)
        self.assertEqual(ref.returncode, 0, (ref.stdout.decode(), ref.stderr.decode()))
        self.assertEqual((got.returncode, got.stdout.decode(), got.stderr.decode()),
                         (ref.returncode, ref.stdout.decode(), ref.stderr.decode()),
                         "output under the preload differs from the reference")
        if stamps:
            return got, read_stamps(path)
        return got

    # -- spans --

    def wait_spans(self, n, svc=None, timeout=15.0, settle=0.7):
        """At least n spans of svc (give up early when none at all arrive), then a pause to
        catch extra ones; the spans of svc."""
        end = time.monotonic() + timeout
        start = time.monotonic()
        while time.monotonic() < end:
            got = select(self.rx.spans(accepted_only=True), svc=svc)
            if len(got) >= n:
                break
            if not got and time.monotonic() > start + 6:
                break
            time.sleep(0.05)
        time.sleep(settle)
        got = select(self.rx.spans(accepted_only=True), svc=svc)
        if len(got) < n:
            self.fail("%d span(s) of %s received, expected %d: %s" % (
                len(got), svc, n, [(s["kind"], s["name"], text(s)) for s in by_start(got)]))
        return got

    def exact_spans(self, n, svc):
        spans = self.wait_spans(n, svc)
        self.assertEqual(len(spans), n, "exactly %d spans of %s expected: %s" % (
            n, svc, [(s["name"], text(s)) for s in by_start(spans)]))
        self.assertEqual([s for s in self.rx.spans() if not s["accepted"]], [],
                         "spans in rejected export requests")
        return by_start(spans)

    def no_spans(self, svc, wait=1.5):
        time.sleep(wait)
        got = select(self.rx.spans(), svc=svc)
        self.assertEqual(got, [], "no span expected from %s: %s" % (
            svc, [(s["name"], text(s)) for s in got]))

    def check_span(self, s, name, qtext, ns="0", unix=False, status=UNSET, error=None,
                   port=None, query_mode="sanitized", parent_id=""):
        """A command span per docs/databases.md: kind, name, attributes, status."""
        what = "%s span %r (%r)" % (s.get("kind"), s.get("name"), text(s))
        self.assertEqual(s["kind"], CLIENT, what)
        self.assertEqual(s["name"], name, what)
        a = attrs(s)
        want = {"db.system.name": "redis", "db.operation.name": name, "db.namespace": ns}
        if query_mode != "off":
            want["db.query.text"] = qtext
        if unix:
            want["server.address"] = self.sock
        else:
            p = port or self.port
            want.update({"server.address": "127.0.0.1", "server.port": p,
                         "network.peer.address": "127.0.0.1", "network.peer.port": p})
        got = {k: a.get(k, "<absent>") for k in want}
        self.assertEqual(got, want, what)
        if query_mode == "off":
            self.assertNotIn("db.query.text", a, what)
        if unix:
            for k in ("server.port", "network.peer.address", "network.peer.port"):
                self.assertNotIn(k, a, what + ": Unix socket")
        self.assertEqual(status_code(s), status, what)
        if error is None:
            self.assertNotIn("error.type", a, what)
            self.assertNotIn("db.response.status_code", a, what)
        else:
            self.assertEqual(a.get("error.type"), error, what)
        self.assertLessEqual(s["startTimeUnixNano"], s["endTimeUnixNano"], what)
        self.assertEqual(parent(s), parent_id, what)

    def check_error_reply(self, s, prefix, message):
        """Error reply: status ERROR, db.response.status_code = error.type = prefix,
        description = the error message."""
        what = "%s %r" % (s["name"], text(s))
        self.assertEqual(status_code(s), ERROR, what)
        self.assertEqual(attrs(s).get("error.type"), prefix, what)
        self.assertEqual(attrs(s).get("db.response.status_code"), prefix, what)
        desc = s.get("status", {}).get("message", "")
        # "the error message": the reply's text, as hiredis gives it (the prefix is its first
        # word); the text after the prefix is accepted too.
        self.assertIn(desc, (message, message[len(prefix) + 1:]), what)

    def check_stack(self, s, function, first=True):
        """code.stacktrace: the program's frames, one per line, at most 32; function among
        them (frame #0 when first)."""
        st = attrs(s).get("code.stacktrace")
        self.assertIsInstance(st, str, "%s %r: no code.stacktrace" % (s["name"], text(s)))
        lines = st.split("\n")
        self.assertLessEqual(len(lines), 32, st)
        for i, line in enumerate(lines):
            m = STACK_LINE.match(line)
            self.assertIsNotNone(m, "stack line %r of\n%s" % (line, st))
            self.assertEqual(int(m.group(1)), i, st)
            self.assertNotIn("libotelpreload", m.group(3), "our own frame in\n" + st)
        names = [STACK_LINE.match(line).group(2) for line in lines]
        hit = [i for i, n in enumerate(names) if n.split("+")[0] == function]
        self.assertTrue(hit, "%s not in code.stacktrace of %s:\n%s" % (function, s["name"], st))
        if first:
            self.assertEqual(hit[0], 0, "frame #0 is not %s:\n%s" % (function, st))
            self.assertIn(os.path.basename(program("all")), lines[0], st)


# ---------------------------------------------------------------------------------------------

SYNC = [  # (span name, sanitized text, raw text)
    ("SET", "SET k ?", "SET k v"),
    ("GET", "GET k", "GET k"),
    ("SET", "SET bin ?", "SET bin a\\x00b"),
    ("STRLEN", "STRLEN bin", "STRLEN bin"),
    # Raw bytes that are not UTF-8 are exported as U+FFFD each (src/otlp.h): the export stays
    # valid (no rejected request).
    ("SET", "SET bin2 ?", "SET bin2 \ufffd\ufffdok"),
    ("SET", "SET n ?", "SET n 41"),
    ("INCR", "INCR n", "INCR n"),
    ("SET", "SET k ? ? ?", "SET k v2 EX 10"),
    ("HSET", "HSET h f1 ? f2 ?", "HSET h f1 v1 f2 v2"),
    ("HGET", "HGET h f1", "HGET h f1"),
    ("MSET", "MSET k1 ? k2 ?", "MSET k1 v1 k2 v2"),
    ("MGET", "MGET k1 k2 nokey", "MGET k1 k2 nokey"),
    ("get", "get k", "get k"),
    ("EXPIRE", "EXPIRE k ?", "EXPIRE k 100"),
    ("PING", "PING", "PING"),
    ("DEL", "DEL k k1 k2", "DEL k k1 k2"),
]


class Sync(RedisBase):
    def sync(self, mode, extra=None):
        svc = "redis-sync-" + mode
        e = dict(extra or {})
        if mode != "default":
            e["OTEL_PRELOAD_DB_QUERY_TEXT"] = mode
        self.same_output("sync", svc, e)
        spans = self.exact_spans(len(SYNC), svc)
        qmode = "sanitized" if mode == "default" else mode
        for i, (s, (name, san, raw)) in enumerate(zip(spans, SYNC)):
            with self.subTest(command=i, text=raw):
                self.check_span(s, name, raw if mode == "raw" else san, query_mode=qmode)
        return spans

    def test_sync_sanitized_by_default(self):
        spans = self.sync("default")
        for s in spans:
            self.assertNotIn("code.stacktrace", attrs(s), "no stack on a successful span")
        # Each command its own root span, in its own trace.
        self.assertEqual(len({s["traceId"] for s in spans}), len(spans))

    def test_sync_sanitized_explicit(self):
        self.sync("sanitized")

    def test_sync_raw(self):
        self.sync("raw")

    def test_sync_text_off(self):
        self.sync("off")

    def test_stacktrace_all(self):
        spans = self.sync("default", {"OTEL_PRELOAD_STACKTRACE": "all"})
        for s in spans:
            self.assertIn("code.stacktrace", attrs(s), "%s %r" % (s["name"], text(s)))
            self.check_stack(s, "main", first=False)

    def test_unix_socket(self):
        svc = "redis-unix"
        self.same_output("unix", svc)
        a, b = self.exact_spans(2, svc)
        self.check_span(a, "SET", "SET u ?", unix=True)
        self.check_span(b, "GET", "GET u", unix=True)

    def test_dlopen_local(self):
        """Not linked with hiredis: dlopen(RTLD_LOCAL) + dlsym."""
        svc = "redis-dlopen"
        args = [program("dlopen"), str(self.port)]
        self.flush()
        ref = subprocess.run(args, env=self.env(svc + "-ref", preload=False),
                             capture_output=True, timeout=60)
        self.flush()
        got = subprocess.run(args, env=self.env(svc), capture_output=True, timeout=60)
        self.assertEqual(ref.returncode, 0, ref)
        self.assertEqual((got.returncode, got.stdout, got.stderr),
                         (ref.returncode, ref.stdout, ref.stderr))
        a, b = self.exact_spans(2, svc)
        self.check_span(a, "SET", "SET dl:key ?")
        self.check_span(b, "GET", "GET dl:key")


def _shapes():
    """(span name, sanitized text, raw text, db.namespace, error) of redis-all shapes."""
    ctl = "k\x01\x7fz"
    ctl_raw = "k\\x01\\x7fz"
    out = [
        ("SET", "SET key with spaces ?", "SET key with spaces v"),
        ("GET", "GET key with spaces", "GET key with spaces"),
        ("SET", "SET %s ?" % ctl, "SET %s w" % ctl_raw),
        ("GET", "GET " + ctl, "GET " + ctl_raw),
        # A NUL ends a string on the wire (src/otlp_encode.c); raw writes it \x00.
        ("GET", "GET n", "GET n\\x00l"),
        ("GET", "GET ", "GET "),
        ("GET", "GET k", "GET k"),
    ]
    # The text is cut at 1536 bytes; raw escaping stops at 1533 (room for one \xNN).
    for i, n in enumerate([1529, 1530, 1532, 1533, 1600]):
        t = "GET " + chr(ord("a") + i) * n
        out.append(("GET", t[:1536], t[:1533]))
    out += [
        ("hset", "hset h f ?", "hset h f v"),
        ("APPEND", "APPEND ap ?", "APPEND ap xyz"),
        ("MSET", "MSET m1 ? m2 ?", "MSET m1 1 m2 2"),
        ("DEL", "DEL d1 d2 d3 d4 d5 d6 d7", None),
        ("DEL", "DEL d1 d2 d3 d4 d5 d6 d7 d8", None),
        ("AUTH", "AUTH ?", "AUTH secret"),
        ("SELECT", "SELECT 2", None),
        ("GET", "GET k", None),
        ("select", "select 0", None),
        ("MULTI", "MULTI", None),
        ("INCR", "INCR cnt", None),
        ("EXEC", "EXEC", None),
        ("SET", "SET argv key ?", "SET argv key argv value"),
        ("GET", "GET key with spaces", None),
        ("HGET", "HGET h f", None),
        ("DEL", "DEL key with spaces %s h ap m1 m2 cnt" % ctl,
         "DEL key with spaces %s h ap m1 m2 cnt" % ctl_raw),
    ]
    res = []
    db = "0"
    for name, san, raw in out:
        res.append((name, san, raw if raw is not None else san, db,
                    "ERR" if name == "AUTH" else None))
        if name.upper() == "SELECT":
            db = san.split()[1]  # the commands after it (not the SELECT itself)
    return res


SHAPES = _shapes()


class Shapes(RedisBase):
    """The usual shapes of commands with unusual arguments: every span exactly as
    docs/databases.md says, in each text mode and with attribute limits."""

    def shapes(self, mode, extra=None):
        svc = "redis-shapes-" + mode
        e = dict(extra or {})
        if mode != "default":
            e["OTEL_PRELOAD_DB_QUERY_TEXT"] = mode
        self.same_output("shapes", svc, e)
        return self.exact_spans(len(SHAPES), svc)

    def check_all(self, mode):
        spans = self.shapes(mode)
        qmode = "sanitized" if mode == "default" else mode
        for i, (s, (name, san, raw, ns, err)) in enumerate(zip(spans, SHAPES)):
            with self.subTest(command=i, text=raw[:40]):
                self.check_span(s, name, raw if mode == "raw" else san, ns=ns,
                                query_mode=qmode, status=ERROR if err else UNSET, error=err)

    def test_shapes_sanitized(self):
        self.check_all("default")

    def test_shapes_raw(self):
        self.check_all("raw")

    def test_shapes_text_off(self):
        self.check_all("off")

    def test_shapes_value_length_limit(self):
        """Every string value cut to 7 characters (the name's too; not the span name)."""
        spans = self.shapes("default", {"OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT": "7"})
        for i, (s, (name, san, raw, ns, err)) in enumerate(zip(spans, SHAPES)):
            with self.subTest(command=i, text=san[:40]):
                self.assertEqual(s["name"], name)
                self.assertEqual(attrs(s).get("db.operation.name"), name[:7])
                self.assertEqual(text(s), san[:7])
                self.assertEqual(attrs(s).get("server.address"), "127.0.0.1"[:7])

    def test_shapes_attribute_count_limit(self):
        """The connection's six attributes and db.operation.name fit, db.query.text does not
        (counted as dropped)."""
        spans = self.shapes("default", {"OTEL_ATTRIBUTE_COUNT_LIMIT": "7"})
        for i, (s, (name, san, raw, ns, err)) in enumerate(zip(spans, SHAPES)):
            with self.subTest(command=i, text=san[:40]):
                a = attrs(s)
                self.assertEqual(a.get("db.operation.name"), name)
                self.assertNotIn("db.query.text", a)
                self.assertEqual(len(a), 7, sorted(a))  # error.type does not fit either
                self.assertGreaterEqual(s.get("droppedAttributesCount", 0), 1)


class Pipelines(RedisBase):
    def test_pipeline_100_appends_100_replies(self):
        svc = "redis-pipeline"
        _, st = self.same_output("pipeline", svc, stamps=True)
        spans = self.wait_spans(102, svc)
        self.assertEqual(len(spans), 102, [(s["name"], text(s)) for s in by_start(spans)])
        pipe = [s for s in spans if s["name"] == "SET"]
        self.assertEqual(len(pipe), 100, "one span per pipelined command")
        # In the order sent: each its own key.
        pipe = by_start(pipe)
        self.assertEqual([text(s) for s in pipe], ["SET pipe:%d ?" % i for i in range(100)])
        prev_end = 0
        for i, s in enumerate(pipe):
            self.check_span(s, "SET", "SET pipe:%d ?" % i)
            # Started by its own append, ended by its own reply (redisGetReply i).
            self.assertGreaterEqual(s["startTimeUnixNano"], st[("append-before", i)], i)
            self.assertLessEqual(s["startTimeUnixNano"], st[("append-after", i)], i)
            self.assertGreaterEqual(s["endTimeUnixNano"], st[("reply-before", i)],
                                    "span %d ended before its reply was asked for" % i)
            self.assertLessEqual(s["endTimeUnixNano"], st[("reply-after", i)],
                                 "span %d ended after its redisGetReply returned" % i)
            self.assertGreaterEqual(s["endTimeUnixNano"], prev_end, "end order, span %d" % i)
            prev_end = s["endTimeUnixNano"]
        gets = by_start([s for s in spans if s["name"] == "GET"])
        self.assertEqual([text(s) for s in gets], ["GET pipe:42", "GET pipe:99"])

    def test_pipeline_argv_and_va_list_variants(self):
        svc = "redis-pipeline-variants"
        _, st = self.same_output("pipeline-variants", svc, stamps=True)
        spans = self.exact_spans(21, svc)
        self.check_span(spans[0], "MSET", "MSET " + " ".join("pv:%d ?" % i for i in range(10)))
        want = [("GET", "GET pv:%d" % i) for i in range(10)] + \
            [("INCR", "INCR pv:%d" % i) for i in range(10)]
        for i, (s, (name, t)) in enumerate(zip(spans[1:], want)):
            self.check_span(s, name, t)
            self.assertGreaterEqual(s["startTimeUnixNano"], st[("append-before", i)], i)
            self.assertLessEqual(s["startTimeUnixNano"], st[("append-after", i)], i)
            self.assertGreaterEqual(s["endTimeUnixNano"], st[("reply-before", i)], i)
            self.assertLessEqual(s["endTimeUnixNano"], st[("reply-after", i)], i)

    def test_errors_inside_a_pipeline(self):
        svc = "redis-pipeline-errors"
        self.same_output("pipeline-errors", svc)
        st, lp, get, unk = self.exact_spans(4, svc)
        self.check_span(st, "SET", "SET pe ?")
        self.check_span(lp, "LPUSH", "LPUSH pe ?", status=ERROR, error="WRONGTYPE")
        self.check_error_reply(lp, "WRONGTYPE",
                               "WRONGTYPE Operation against a key holding the wrong kind of "
                               "value")
        # The call that failed: the redisGetReply that delivered the error.
        self.check_stack(lp, "run_pipeline_errors")
        self.check_span(get, "GET", "GET pe")
        self.check_span(unk, "NOSUCHCOMMAND", "NOSUCHCOMMAND", status=ERROR, error="ERR")
        self.check_error_reply(unk, "ERR", "ERR unknown command 'NOSUCHCOMMAND', with args "
                               "beginning with: ")
        self.check_stack(unk, "run_pipeline_errors")
        for s in (st, get):
            self.assertNotIn("code.stacktrace", attrs(s))

    def test_multi_exec(self):
        svc = "redis-multi"
        self.same_output("multi", svc)
        spans = self.exact_spans(7, svc)
        want = [("MULTI", "MULTI"), ("SET", "SET m1 ?"), ("INCR", "INCR m2"), ("EXEC", "EXEC"),
                ("MULTI", "MULTI"), ("NOSUCHCOMMAND", "NOSUCHCOMMAND"), ("EXEC", "EXEC")]
        self.assertEqual([(s["name"], text(s)) for s in spans], want)
        for s, (name, t) in list(zip(spans, want))[:5]:
            self.check_span(s, name, t)
        self.check_span(spans[5], "NOSUCHCOMMAND", "NOSUCHCOMMAND", status=ERROR, error="ERR")
        self.check_span(spans[6], "EXEC", "EXEC", status=ERROR, error="EXECABORT")
        self.check_error_reply(spans[6], "EXECABORT",
                               "EXECABORT Transaction discarded because of previous errors.")


class Async(RedisBase):
    def test_async_libevent(self):
        svc = "redis-async"
        got, st = self.same_output("async", svc, stamps=True)
        out = got.stdout.decode()
        self.assertEqual(out.count("own privdata"), 23, out)
        self.assertNotIn("WRONG", out)
        self.assertNotIn("UNEXPECTED", out)
        self.assertIn("async: 23 callbacks for 23 commands with a callback", out)
        spans = self.exact_spans(24, svc)
        want = [("SET", "SET async:%d ?" % i) for i in range(10)] + \
            [("GET", "GET async:%d" % i) for i in range(10)] + \
            [("INCR", "INCR async:counter"), ("GET", "GET async:3"),
             ("SET", "SET async:null ?"), ("GET", "GET async:null")]
        self.assertEqual([(s["name"], text(s)) for s in spans], want)
        for s, (name, t) in zip(spans, want):
            self.check_span(s, name, t)
        # Started when sent; ended when its reply came (its callback ran): between the
        # neighbouring callbacks.
        slot_of = list(range(22)) + [None, 22]  # the NULL-callback command has no slot
        for k, s in enumerate(spans):
            slot = slot_of[k]
            what = "span %d %r" % (k, text(s))
            if slot is None:
                sent = (st[("send-null", 22)], st[("sent-null", 22)])
                lo, hi = st[("cb-exit", 21)], st[("cb-enter", 22)]
            else:
                sent = (st[("send", slot)], st[("sent", slot)])
                lo = st[("cb-exit", slot - 1)] if slot > 0 else sent[0]
                hi = st.get(("cb-enter", slot + 1), st[("loop-end", 0)])
                if slot == 21:
                    hi = st[("cb-enter", 22)]
            self.assertGreaterEqual(s["startTimeUnixNano"], sent[0], what)
            self.assertLessEqual(s["startTimeUnixNano"], sent[1], what)
            self.assertGreater(s["endTimeUnixNano"], lo, what + ": ended before its reply")
            self.assertLess(s["endTimeUnixNano"], hi, what + ": ended after the next reply")

    def test_async_errors(self):
        svc = "redis-async-errors"
        self.same_output("async-errors", svc)
        spans = self.exact_spans(3, svc)
        self.check_span(spans[0], "SET", "SET aw ?")
        self.check_span(spans[1], "LPUSH", "LPUSH aw ?", status=ERROR, error="WRONGTYPE")
        self.check_error_reply(spans[1], "WRONGTYPE",
                               "WRONGTYPE Operation against a key holding the wrong kind of "
                               "value")
        # The stack of the call that delivered the reply: inside the event loop that
        # run_async_wrongtype runs.
        self.check_stack(spans[1], "run_async_wrongtype", first=False)
        self.check_span(spans[2], "NOSUCHCOMMAND", "NOSUCHCOMMAND arg", status=ERROR,
                        error="ERR")
        self.check_stack(spans[2], "run_async_wrongtype", first=False)

    def test_async_free_with_pending_replies(self):
        svc = "redis-async-free"
        got = self.same_output("async-free", svc)
        self.assertIn("async-free: 3 callbacks", got.stdout.decode())
        spans = self.exact_spans(3, svc)
        for i, s in enumerate(spans):
            self.check_span(s, "GET", "GET af:%d" % i, status=ERROR, error="connection_closed")


    def test_subscribe_mode_untraced(self):
        """SUBSCRIBE passes through untraced; its callback runs once per message with the
        program's own private data."""
        svc = "redis-subscribe"
        got = self.same_output("subscribe", svc)
        out = got.stdout.decode()
        self.assertEqual(out.count("own privdata"), 5, out)
        self.assertIn("subscribe: 5 callbacks, 3 published", out)
        spans = self.exact_spans(3, svc)
        for s in spans:
            self.check_span(s, "PUBLISH", "PUBLISH chan ?")

    def test_async_connect_refused(self):
        svc = "redis-async-refused"
        dead = free_port()
        self.same_output("async-refused", svc, port=dead)
        (s,) = self.exact_spans(1, svc)
        self.assertEqual((s["name"], s["kind"], status_code(s)), ("CONNECT", CLIENT, ERROR))
        self.assertEqual(attrs(s).get("db.system.name"), "redis")
        self.assertNotIn("db.operation.name", attrs(s))
        self.assertEqual(attrs(s).get("server.address"), "127.0.0.1")
        self.assertEqual(attrs(s).get("server.port"), dead)
        self.assertEqual(attrs(s).get("error.type"), "io_error")
        self.assertEqual(s.get("status", {}).get("message"), "Connection refused")
        self.check_stack(s, "run_async_refused", first=False)


class Errors(RedisBase):
    def test_error_replies(self):
        svc = "redis-errors"
        self.same_output("errors", svc)
        spans = self.exact_spans(5, svc)
        st, lp, unk, auth, get = spans
        self.check_span(st, "SET", "SET wt ?")
        self.check_span(lp, "LPUSH", "LPUSH wt ?", status=ERROR, error="WRONGTYPE")
        self.check_error_reply(lp, "WRONGTYPE",
                               "WRONGTYPE Operation against a key holding the wrong kind of "
                               "value")
        self.check_stack(lp, "run_wrongtype")
        self.check_span(unk, "NOSUCHCOMMAND", "NOSUCHCOMMAND a ?", status=ERROR, error="ERR")
        self.check_error_reply(unk, "ERR", "ERR unknown command 'NOSUCHCOMMAND', with args "
                               "beginning with: 'a' 'b' ")
        self.check_stack(unk, "run_unknown_command")
        self.check_span(auth, "AUTH", "AUTH ? ?", status=ERROR, error="WRONGPASS")
        self.check_error_reply(auth, "WRONGPASS",
                               "WRONGPASS invalid username-password pair or user is disabled.")
        self.check_stack(auth, "run_bad_auth")
        self.check_span(get, "GET", "GET wt")
        for s in (st, get):
            self.assertNotIn("code.stacktrace", attrs(s))

    def test_error_replies_stacktrace_off(self):
        svc = "redis-errors-nostack"
        self.same_output("errors", svc, {"OTEL_PRELOAD_STACKTRACE": "off"})
        spans = self.exact_spans(5, svc)
        self.assertEqual([status_code(s) for s in spans], [UNSET, ERROR, ERROR, ERROR, UNSET])
        for s in spans:
            self.assertNotIn("code.stacktrace", attrs(s))

    def test_raw_text_of_auth_is_as_sent(self):
        """raw records every argument, AUTH's too (the documented opt-in)."""
        svc = "redis-errors-raw"
        self.same_output("errors", svc, {"OTEL_PRELOAD_DB_QUERY_TEXT": "raw"})
        spans = self.exact_spans(5, svc)
        self.assertEqual([text(s) for s in spans],
                         ["SET wt a-string", "LPUSH wt x", "NOSUCHCOMMAND a b",
                          "AUTH someone secret", "GET wt"])

    def test_refused_connections(self):
        svc = "redis-refused"
        dead = free_port()
        nosock = os.path.join(self.tmp, "no-such.sock")
        self.same_output("refused", svc, port=dead, sock=nosock)
        spans = self.exact_spans(2, svc)
        tcp = [s for s in spans if attrs(s).get("server.address") == "127.0.0.1"]
        unix = [s for s in spans if attrs(s).get("server.address") == nosock]
        self.assertEqual((len(tcp), len(unix)), (1, 1),
                         [(s["name"], attrs(s)) for s in spans])
        for s, fn, desc in ((tcp[0], "run_refused", "Connection refused"),
                            (unix[0], "run_no_socket", "No such file or directory")):
            what = "CONNECT span %r" % attrs(s).get("server.address")
            self.assertEqual(s["name"], "CONNECT", what)
            self.assertEqual(s["kind"], CLIENT, what)
            self.assertEqual(status_code(s), ERROR, what)
            self.assertEqual(attrs(s).get("db.system.name"), "redis", what)
            self.assertNotIn("db.operation.name", attrs(s), what)
            self.assertEqual(attrs(s).get("error.type"), "io_error", what)
            self.assertEqual(s.get("status", {}).get("message"), desc, what)
            self.check_stack(s, fn)
        self.assertEqual(attrs(tcp[0]).get("server.port"), dead)
        self.assertNotIn("server.port", attrs(unix[0]))

    def test_no_reply_server_closed(self):
        """No reply: error.type = hiredis' error code as a word, description = errstr."""
        svc = "redis-closed"
        self.same_output("closed", svc)
        quit_, get = self.exact_spans(2, svc)
        self.check_span(quit_, "QUIT", "QUIT")
        self.check_span(get, "GET", "GET after-quit", status=ERROR, error="eof")
        self.assertNotIn("db.response.status_code", attrs(get))
        self.assertEqual(get.get("status", {}).get("message"), "Server closed the connection")
        self.check_stack(get, "run_after_quit")

    def test_pending_replies_at_redisFree(self):
        svc = "redis-pending-free"
        self.same_output("pending-at-free", svc)
        spans = self.exact_spans(4, svc)
        for s, (name, t) in zip(spans, [("SET", "SET pf:1 ?"), ("GET", "GET pf:1"),
                                        ("INCR", "INCR pf:n")]):
            self.check_span(s, name, t, status=ERROR, error="connection_closed")
        self.check_span(spans[3], "GET", "GET pf:1")


class Namespace(RedisBase):
    def test_select_changes_db_namespace(self):
        svc = "redis-select"
        self.same_output("select", svc)
        spans = self.exact_spans(8, svc)
        texts = [text(s) for s in spans]
        self.assertEqual(texts, ["SET s0 ?", "SELECT 3", "SET s3 ?", "GET s3", "GET s0",
                                 "SELECT 99", "GET s3", "GET s0"])
        self.check_span(spans[0], "SET", "SET s0 ?", ns="0")
        self.assertIn(attrs(spans[1]).get("db.namespace"), ("0", "3"))  # the SELECT itself
        self.check_span(spans[2], "SET", "SET s3 ?", ns="3")
        self.check_span(spans[3], "GET", "GET s3", ns="3")
        self.check_span(spans[4], "GET", "GET s0", ns="3")
        # A failed SELECT changes nothing.
        self.check_span(spans[5], "SELECT", "SELECT 99", ns="3", status=ERROR, error="ERR")
        self.check_span(spans[6], "GET", "GET s3", ns="3")
        # Another connection of the same program is still on 0.
        self.check_span(spans[7], "GET", "GET s0", ns="0")


class Config(RedisBase):
    def test_hiredis_disabled(self):
        svc = "redis-disabled"
        self.same_output("sync", svc, {"OTEL_PRELOAD_DISABLED_INSTRUMENTATIONS": "hiredis"})
        self.same_output("refused", svc + "-refused",
                         {"OTEL_PRELOAD_DISABLED_INSTRUMENTATIONS": "HiRedis"},
                         port=free_port(), sock=os.path.join(self.tmp, "none.sock"))
        self.same_output("async", svc + "-async",
                         {"OTEL_PRELOAD_DISABLED_INSTRUMENTATIONS": "hiredis"})
        self.no_spans(None)

    def test_only_http_enabled(self):
        svc = "redis-only-http"
        self.same_output("sync", svc, {"OTEL_PRELOAD_ENABLED_INSTRUMENTATIONS": "http"})
        self.no_spans(None)


class PythonCtypes(RedisBase):
    asan_ok = False

    def test_ctypes_handler_span_is_child_of_server_span(self):
        if not have("curl"):
            self.skipTest("curl is not installed")
        outs = []
        for preload in (False, True):
            self.flush()
            self.assertEqual(redis_command(self.port, "SET", "ctkey", "ctypes-value"),
                             b"+OK\r\n")
            hport = free_port()
            svc = "pyredis" if preload else "pyredis-ref"
            p = Proc([PY, CTYPES_SERVER, str(hport), str(self.port)],
                     self.env(svc, preload=preload), self.tmp, svc)
            self.procs.append(p)
            p.wait_ready(("127.0.0.1", hport))
            c = subprocess.run(["curl", "-sS", "--max-time", "30",
                                "http://127.0.0.1:%d/get/ctkey" % hport],
                               env=self.env("curl" if preload else "curl-ref", preload=preload),
                               capture_output=True, timeout=60)
            outs.append((c.returncode, c.stdout, c.stderr))
            if preload:
                spans = self.wait_spans(3)
            p.stop()
            self.procs.remove(p)
            self.assertEqual(p.returncode, 0, p.stderr())
        self.assertEqual(outs[0], (0, b"ctypes-value\n", b""))
        self.assertEqual(outs[1], outs[0])
        time.sleep(0.5)
        spans = self.rx.spans(accepted_only=True)
        self.assertEqual(sorted((service(s), s["kind"], s["name"]) for s in spans),
                         [("curl", CLIENT, "GET"), ("pyredis", CLIENT, "GET"),
                          ("pyredis", SERVER, "GET")])
        cc = select(spans, CLIENT, "curl")[0]
        srv = select(spans, SERVER, "pyredis")[0]
        rd = select(spans, CLIENT, "pyredis")[0]
        self.assertEqual(srv["traceId"], cc["traceId"])
        self.assertEqual(parent(srv), cc["spanId"])
        self.check_span(rd, "GET", "GET ctkey", parent_id=srv["spanId"])
        self.assertEqual(rd["traceId"], srv["traceId"])
        self.assertGreaterEqual(rd["startTimeUnixNano"], srv["startTimeUnixNano"])
        self.assertLessEqual(rd["endTimeUnixNano"], srv["endTimeUnixNano"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
