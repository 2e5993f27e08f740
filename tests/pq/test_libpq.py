"""Integration tests of the libpq instrumentation (docs/databases.md): real programs under
LD_PRELOAD against a real PostgreSQL server (scripts/pg.sh, one per test class, in a temporary
directory) and a real OTLP/HTTP receiver (tests/preload/receiver.py).

Run by `meson test` (suite 'preload'; tests/pq/meson.build sets OTELP_LIB, OTELP_PROTO_PY,
OTELP_PQ_ALL, OTELP_PQ_DLOPEN, OTELP_PQ_PLUGIN, OTELP_PQ_PLUGIN_HOST, OTELP_PG_SH), or by hand:
    OTELP_LIB=build/hooks/libotelpreload.so OTELP_PROTO_PY=build/proto \\
        /usr/bin/python3 tests/pq/test_libpq.py [-k pattern]
(the test programs are then built here with cc and libpq-dev).

Programs: tests/pq/pq-all.c (a subcommand per libpq API, one output line per query),
pq-dlopen.c (libpq through dlopen + dlsym), pq-plugin.c + pq-plugin-host.c (a module linked
with libpq loaded with dlopen(RTLD_LOCAL)), pq_http_server.py (psycopg2 inside an HTTP
handler), psql and pgbench. Every run of a program gets its own service name and its own
application_name (PGAPPNAME), so that the statements the server logged for it (log_statement=all)
can be told apart from the others.

Under ASan (OTELP_ASAN_RUNTIME set) only our own programs run (they are built with ASan like
the library); psql, pgbench, python and curl cannot run with the ASan runtime preloaded.
"""
import itertools
import os
import re
import shutil
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
                     chain_problems, free_port, have, parent, select, service, status_code,
                     traceparent)

PG_SH = os.environ.get("OTELP_PG_SH") or os.path.join(REPO, "scripts", "pg.sh")
HTTP_SERVER = os.path.join(HERE, "pq_http_server.py")

# Attributes a plain-text (PQexec / PQsendQuery) span does not have by default.
NOT_PLAIN = ("otelpreload.db.parameter_count", "otelpreload.db.statement_name",
             "otelpreload.db.portal_name", "db.operation.name", "code.stacktrace",
             "error.type", "db.response.status_code", "db.response.returned_rows")
NOT_ERROR = ("code.stacktrace", "error.type", "db.response.status_code",
             "db.response.returned_rows")

_apps = itertools.count(1)
_STACK_LINE = re.compile(r"^#(\d+) 0x[0-9a-f]{16} (\S+) \((.+)\)$")


# ---- programs ----------------------------------------------------------------------------------

_built = {}


def program(var):
    """Path of a test program: from the environment (meson), else built here with cc."""
    if os.environ.get(var):
        return os.environ[var]
    if not _built:
        _build_all()
    return _built[var]


def _build_all():
    cc = shutil.which("cc") or shutil.which("gcc")
    pg_config = shutil.which("pg_config")
    if not cc or not pg_config:
        raise unittest.SkipTest("OTELP_PQ_* unset and no cc / pg_config (libpq-dev) to build "
                                "the test programs")
    inc = subprocess.run([pg_config, "--includedir"], capture_output=True, text=True,
                         check=True).stdout.strip()
    d = tempfile.mkdtemp(prefix="otelp-pq-build-")
    import atexit
    atexit.register(shutil.rmtree, d, True)
    flags = [cc, "-std=gnu11", "-O2", "-g", "-Wall", "-Wextra", "-D_GNU_SOURCE", "-I" + inc,
             "-I" + os.path.join(REPO, "include")]
    src = lambda name: os.path.join(HERE, name)  # noqa: E731
    out = {"OTELP_PQ_ALL": os.path.join(d, "pq-all"),
           "OTELP_PQ_DLOPEN": os.path.join(d, "pq-dlopen"),
           "OTELP_PQ_PLUGIN": os.path.join(d, "pq-plugin.so"),
           "OTELP_PQ_PLUGIN_HOST": os.path.join(d, "pq-plugin-host")}
    subprocess.run(flags + ["-pthread", src("pq-all.c"), "-o", out["OTELP_PQ_ALL"], "-lpq"],
                   check=True)
    subprocess.run(flags + [src("pq-dlopen.c"), "-o", out["OTELP_PQ_DLOPEN"], "-ldl"],
                   check=True)
    subprocess.run(flags + ["-shared", "-fPIC", src("pq-plugin.c"), "-o",
                            out["OTELP_PQ_PLUGIN"], "-lpq"], check=True)
    subprocess.run(flags + [src("pq-plugin-host.c"), "-o", out["OTELP_PQ_PLUGIN_HOST"],
                            "-ldl"], check=True)
    _built.update(out)


# ---- the server's log --------------------------------------------------------------------------

# log_line_prefix = '%m [%p] %q%u@%d app=[%a] ' (scripts/pg.sh); continuation lines: a tab.
_LOG_ENTRY = re.compile(r"^\S+ \S+ \S+ \[(\d+)\] (\S*)@(\S*) app=\[(.*?)\] ([A-Z]+):  (.*)$")
_LOGGED = re.compile(r"^(statement|execute ([^:]*)): (.*)$", re.S)


def log_entries(path):
    """[(pid, app, level, message)] of the server log; messages with their continuations."""
    out = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("\t") and out:
                pid, app, level, msg = out[-1]
                out[-1] = (pid, app, level, msg + "\n" + line[1:])
                continue
            m = _LOG_ENTRY.match(line)
            if m:
                out.append((int(m.group(1)), m.group(4), m.group(5), m.group(6)))
            else:
                out.append((0, None, None, line))
    return out


def logged_statements(path, app):
    """What the server logged (log_statement=all) for the sessions of application app:
    [(kind, text)], kind "statement" (simple query protocol) or "execute <name>"."""
    out = []
    for _, a, level, msg in log_entries(path):
        if a != app or level != "LOG":
            continue
        m = _LOGGED.match(msg)
        if m:
            out.append((m.group(1), m.group(3)))
    return out


def logged_errors(path, app):
    """[(error message, statement)] the server logged for application app."""
    out = []
    pending = None
    for _, a, level, msg in log_entries(path):
        if a != app:
            continue
        if level == "ERROR":
            pending = msg
        elif level == "STATEMENT" and pending is not None:
            out.append((pending, msg))
            pending = None
    return out


# ---- spans ------------------------------------------------------------------------------------

def read_text(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def attrs(span):
    return span.get("attributes", {})


def db_spans(spans, svc=None):
    return sorted((s for s in spans if attrs(s).get("db.system.name") == "postgresql"
                   and (svc is None or service(s) == svc)),
                  key=lambda s: (s["startTimeUnixNano"], s["endTimeUnixNano"]))


def describe(spans):
    return [(service(s), s.get("kind"), s.get("name"), attrs(s).get("db.query.text"))
            for s in spans]


def stack_frames(text):
    """[(number, symbol, module)] of a code.stacktrace value; raises on a malformed line."""
    out = []
    for line in text.split("\n"):
        m = _STACK_LINE.match(line)
        if not m:
            raise AssertionError("malformed code.stacktrace line %r in:\n%s" % (line, text))
        out.append((int(m.group(1)), m.group(2), m.group(3)))
    return out


# ---- the base class ---------------------------------------------------------------------------

class PgBase(unittest.TestCase):
    """One PostgreSQL server per class; a receiver per test."""

    asan_ok = True  # our own programs are built with ASan in ASan builds

    @classmethod
    def setUpClass(cls):
        cls.pgdir = None
        if not os.path.exists(PG_SH):
            raise unittest.SkipTest("no %s" % PG_SH)
        probe = subprocess.run(["bash", "-c", "command -v initdb || ls /usr/lib/postgresql/*/bin/"
                                "initdb"], capture_output=True, text=True)
        if probe.returncode != 0 and not os.environ.get("PG_BINDIR"):
            raise unittest.SkipTest("PostgreSQL server binaries not installed (Debian package "
                                    "postgresql)")
        cls.pgdir = tempfile.mkdtemp(prefix="otelp-pg-")
        r = subprocess.run(["bash", PG_SH, "start", cls.pgdir], capture_output=True, text=True,
                           timeout=180)
        if r.returncode != 0:
            shutil.rmtree(cls.pgdir, ignore_errors=True)
            raise RuntimeError("scripts/pg.sh start failed (%d):\n%s%s"
                               % (r.returncode, r.stdout, r.stderr))
        cls.pg = {}
        with open(os.path.join(cls.pgdir, "env")) as f:
            for line in f:
                k, _, v = line.rstrip("\n").partition("=")
                if k:
                    cls.pg[k] = v
        cls.port = int(cls.pg["PGPORT"])
        cls.pglog = cls.pg["PGLOG"]

    @classmethod
    def tearDownClass(cls):
        if cls.pgdir:
            r = subprocess.run(["bash", PG_SH, "stop", cls.pgdir, "--remove"],
                               capture_output=True, text=True, timeout=180)
            shutil.rmtree(cls.pgdir, ignore_errors=True)
            if r.returncode != 0:
                raise RuntimeError("scripts/pg.sh stop failed (%d):\n%s%s"
                                   % (r.returncode, r.stdout, r.stderr))

    def setUp(self):
        if ASAN and not self.asan_ok:
            self.skipTest("uninstrumented programs cannot run with the ASan runtime preloaded")
        self.tmp = tempfile.mkdtemp(prefix="otelp-pq-")
        self.rx = Receiver().start()
        self.procs = []

    def tearDown(self):
        for p in reversed(self.procs):
            p.stop()
        self.rx.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- programs --

    def env(self, svc, extra=None, preload=True, app=None, db=None):
        """The environment of a program: OTLP to our receiver, the server's PG* variables
        (and none of the caller's), PGAPPNAME = app."""
        e = base_env({"OTEL_EXPORTER_OTLP_ENDPOINT": self.rx.endpoint,
                      "OTEL_SERVICE_NAME": svc}, preload=preload)
        for k in list(e):
            if k.startswith("PG") or k == "PQALL_CONNINFO":
                del e[k]
        for k in ("PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGSOCKDIR"):
            e[k] = self.pg[k]
        if db:
            e["PGDATABASE"] = db
        e["PGAPPNAME"] = app or ("otelp-%s-%d" % (svc, next(_apps)))
        e["PGCONNECT_TIMEOUT"] = "10"
        if extra:
            e.update(extra)
        return e

    def run_prog(self, args, svc, preload=True, extra=None, app=None, db=None, timeout=120,
                 check=True):
        p = subprocess.run(args, env=self.env(svc, extra, preload, app, db),
                           capture_output=True, timeout=timeout)
        if check:
            self.assertEqual(p.returncode, 0, "%s exited with %d: %r %r"
                             % (args, p.returncode, p.stdout[-2000:], p.stderr[-2000:]))
        return p

    def pq(self, *args, svc="pq-all", preload=True, extra=None, app=None, setup=True,
           check=True):
        """Run pq-all ARGS (after `pq-all setup` without the preload): CompletedProcess."""
        if setup:
            self.setup_table()
        return self.run_prog([program("OTELP_PQ_ALL")] + [str(a) for a in args], svc,
                             preload=preload, extra=extra, app=app, check=check)

    def setup_table(self):
        p = self.run_prog([program("OTELP_PQ_ALL"), "setup"], "setup", preload=False)
        self.assertEqual(p.stdout, b"setup: PGRES_COMMAND_OK INSERT 0 3\n")

    def settled_statements(self, app, quiet=0.4, timeout=10.0):
        """logged_statements(app) once the log has not grown for quiet seconds (a query in
        flight when its client went away is logged a little later)."""
        end = time.monotonic() + timeout
        last = None
        while True:
            size = os.path.getsize(self.pglog)
            if size == last or time.monotonic() > end:
                return logged_statements(self.pglog, app)
            last = size
            time.sleep(quiet)

    def dead_port(self):
        """A port on 127.0.0.1 with nothing listening (the server's own one excluded)."""
        while True:
            p = free_port()
            if p != self.port:
                return p

    # -- spans --

    def wait_spans(self, n, svc=None, timeout=15.0, settle=0.7):
        """At least n spans of svc (or of anyone), then a pause to catch extra ones: all the
        spans of svc (or all spans)."""
        def get():
            spans = self.rx.spans(accepted_only=True)
            return [s for s in spans if svc is None or service(s) == svc]
        start = time.monotonic()
        end = start + timeout
        while time.monotonic() < end and len(get()) < n:
            if not self.rx.spans() and time.monotonic() > start + 6:
                break  # nothing at all after 6 s: no point waiting longer
            time.sleep(0.05)
        time.sleep(settle)
        spans = get()
        if len(spans) < n:
            self.fail("%d span(s) of %s received, expected %d: %s"
                      % (len(spans), svc or "anyone", n, describe(spans)))
        return spans

    def exact_db_spans(self, n, svc="pq-all"):
        """Exactly n spans from svc, all of them PostgreSQL client spans, by start time."""
        spans = self.wait_spans(n, svc)
        dbs = db_spans(spans, svc)
        self.assertEqual(len(spans), n, "expected exactly %d spans from %s, got %d: %s"
                         % (n, svc, len(spans), describe(spans)))
        self.assertEqual(len(dbs), n, "every span of %s must be a PostgreSQL span: %s"
                         % (svc, describe(spans)))
        for s in dbs:
            self.assertWellFormed(s)
        return dbs

    def assertWellFormed(self, s):
        self.assertTrue(s.get("name"), s)
        self.assertEqual(s.get("kind"), CLIENT, s)
        self.assertRegex(s.get("traceId", ""), r"^[0-9a-f]{32}$")
        self.assertNotEqual(s["traceId"], "0" * 32)
        self.assertRegex(s.get("spanId", ""), r"^[0-9a-f]{16}$")
        self.assertNotEqual(s["spanId"], "0" * 16)
        self.assertGreater(s["startTimeUnixNano"], 0)
        self.assertGreaterEqual(s["endTimeUnixNano"], s["startTimeUnixNano"], s)
        self.assertEqual(attrs(s).get("db.system.name"), "postgresql", s)

    def tcp_attrs(self, db="postgres"):
        return {"db.system.name": "postgresql", "db.namespace": db,
                "server.address": "127.0.0.1", "server.port": self.port,
                "network.peer.address": "127.0.0.1", "network.peer.port": self.port}

    def assertSpan(self, s, name, expected, absent=(), status=UNSET, error_type=None,
                   description=None, db="postgres", tcp=True):
        """s is a CLIENT span named name with the TCP connection's attributes (tcp) and the
        expected ones, none of absent; its status, error.type and description."""
        what = "span %r (%s)" % (s.get("name"), attrs(s).get("db.query.text"))
        self.assertEqual(s.get("kind"), CLIENT, what)
        self.assertEqual(s.get("name"), name, what)
        want = dict(self.tcp_attrs(db)) if tcp else {}
        want.update(expected)
        got = {k: attrs(s).get(k, "<absent>") for k in want}
        self.assertEqual(got, want, what)
        present = [k for k in absent if k in attrs(s)]
        self.assertEqual(present, [], "%s: attributes that must be absent: %s"
                         % (what, {k: attrs(s)[k] for k in present}))
        self.assertEqual(status_code(s), status, "%s status %s" % (what, s.get("status")))
        if status == ERROR:
            self.assertEqual(attrs(s).get("error.type"), error_type, what)
            if description is not None:
                self.assertEqual(s.get("status", {}).get("message"), description, what)
        else:
            self.assertNotIn("error.type", attrs(s), what)

    def assertSqlError(self, s, name, text, sqlstate, message, extra=None, frame0=None):
        """An error span of a SQL error: SQLSTATE in db.response.status_code and error.type,
        the primary message as the description, code.stacktrace with frame0 as frame #0."""
        expected = {"db.query.text": text, "db.response.status_code": sqlstate}
        expected.update(extra or {})
        self.assertSpan(s, name, expected, status=ERROR, error_type=sqlstate,
                        description=message)
        if frame0:
            self.assertStack(s, frame0)

    def assertStack(self, s, frame0, module=None):
        """code.stacktrace: well formed, frame #0 is frame0 in our program, main below it,
        at most 32 frames, none inside the preload."""
        st = attrs(s).get("code.stacktrace")
        self.assertIsNotNone(st, "no code.stacktrace on %r" % s.get("name"))
        frames = stack_frames(st)
        self.assertLessEqual(len(frames), 32, st)
        self.assertEqual([f[0] for f in frames], list(range(len(frames))), st)
        self.assertTrue(frames[0][1].startswith(frame0 + "+0x"),
                        "frame #0 should be %s:\n%s" % (frame0, st))
        if module:
            self.assertEqual(os.path.basename(frames[0][2]), module, st)
        self.assertTrue(any(f[1].startswith("main+0x") for f in frames),
                        "no main frame:\n%s" % st)
        self.assertFalse([f for f in frames if "libotelpreload" in f[2]],
                         "frames of the preload in:\n%s" % st)

    def assertChain(self, *chain):
        self.assertEqual(chain_problems(list(chain)), [], "broken parent chain")


# ---------------------------------------------------------------------------------------------
# 1. every API of docs/databases.md, one subcommand each

class Apis(PgBase):
    def test_exec_sanitized(self):
        p = self.pq("exec")
        self.assertEqual(p.stdout.decode().splitlines(), [
            "exec select: PGRES_TUPLES_OK rows=1 [1,one]",
            "exec insert: PGRES_COMMAND_OK INSERT 0 1",
            "exec update: PGRES_COMMAND_OK UPDATE 1",
            "exec delete: PGRES_COMMAND_OK DELETE 1",
            "exec select 1: PGRES_TUPLES_OK rows=1 [1]"])
        s = self.exact_db_spans(5)
        want = [("SELECT otelp_items", "SELECT id, name FROM otelp_items WHERE id = ? AND "
                 "name = ?"),
                ("INSERT otelp_items", "INSERT INTO otelp_items (id, name) VALUES (?, ?)"),
                ("UPDATE otelp_items", "UPDATE otelp_items SET name = ? WHERE id = ?"),
                ("DELETE otelp_items", "DELETE FROM otelp_items WHERE id = ?"),
                ("SELECT", "SELECT ?")]
        for span, (summary, text) in zip(s, want):
            self.assertSpan(span, summary, {"db.query.text": text, "db.query.summary": summary},
                            absent=NOT_PLAIN)
        # Sequential queries: each span ends before the next one starts.
        for a, b in zip(s, s[1:]):
            self.assertLessEqual(a["endTimeUnixNano"], b["startTimeUnixNano"])
        # The five spans have no parent (no current context) and each its own trace.
        self.assertEqual([parent(x) for x in s], [""] * 5)
        self.assertEqual(len({x["traceId"] for x in s}), 5)

    def test_exec_params(self):
        p = self.pq("params")
        self.assertEqual(p.stdout.decode().splitlines(), [
            "params select: PGRES_TUPLES_OK rows=1 [1,one]",
            "params insert: PGRES_COMMAND_OK INSERT 0 1",
            "params delete: PGRES_COMMAND_OK DELETE 1"])
        s = self.exact_db_spans(3)
        want = [("SELECT otelp_items",
                 "SELECT id, name FROM otelp_items WHERE id = $1 AND name = $2", 2),
                ("INSERT otelp_items", "INSERT INTO otelp_items (id, name) VALUES ($1, $2)", 2),
                ("DELETE otelp_items", "DELETE FROM otelp_items WHERE id = $1", 1)]
        for span, (summary, text, n) in zip(s, want):
            self.assertSpan(span, summary, {"db.query.text": text, "db.query.summary": summary,
                                            "otelpreload.db.parameter_count": n},
                            absent=("otelpreload.db.statement_name", "db.operation.name")
                            + NOT_ERROR)

    def test_prepare_and_execute(self):
        self.pq("prepared")
        s = self.exact_db_spans(5)
        get = "SELECT name FROM otelp_items WHERE id = $1"
        unnamed = "SELECT id FROM otelp_items WHERE name = $1"
        self.assertSpan(s[0], "PREPARE SELECT otelp_items", {
            "db.operation.name": "PREPARE", "db.query.text": get,
            "db.query.summary": "SELECT otelp_items", "otelpreload.db.statement_name": "get_item",
            "otelpreload.db.parameter_count": 1}, absent=NOT_ERROR)
        for span in s[1:3]:
            self.assertSpan(span, "SELECT otelp_items", {
                "db.query.text": get, "db.query.summary": "SELECT otelp_items",
                "otelpreload.db.statement_name": "get_item",
                "otelpreload.db.parameter_count": 1}, absent=("db.operation.name",) + NOT_ERROR)
        # The unnamed statement: no statement name attribute.
        self.assertSpan(s[3], "PREPARE SELECT otelp_items", {
            "db.operation.name": "PREPARE", "db.query.text": unnamed,
            "db.query.summary": "SELECT otelp_items", "otelpreload.db.parameter_count": 1},
            absent=("otelpreload.db.statement_name",) + NOT_ERROR)
        self.assertSpan(s[4], "SELECT otelp_items", {
            "db.query.text": unnamed, "db.query.summary": "SELECT otelp_items",
            "otelpreload.db.parameter_count": 1},
            absent=("otelpreload.db.statement_name", "db.operation.name") + NOT_ERROR)

    def test_execute_statement_prepared_by_sql(self):
        """PREPARE sent as SQL: libpq never saw the text, the span is EXECUTE; also when
        another connection PQprepare'd the same name, and on a new connection after one that
        had prepared the name was finished (the text is per connection)."""
        p = self.pq("prepared-sql")
        self.assertEqual(p.stdout.decode().splitlines(), [
            "other prepare sql_prep: PGRES_COMMAND_OK ",
            "sql prepare: PGRES_COMMAND_OK PREPARE",
            "execute sql_prep: PGRES_TUPLES_OK rows=1 [one]",
            "other execute sql_prep: PGRES_TUPLES_OK rows=1 [1]",
            "prepare reused: PGRES_COMMAND_OK ",
            "sql prepare reused: PGRES_COMMAND_OK PREPARE",
            "execute reused: PGRES_TUPLES_OK rows=1 [one]"])
        s = self.exact_db_spans(7)
        other_text = "SELECT id FROM otelp_items WHERE id = $1"
        self.assertSpan(s[0], "PREPARE SELECT otelp_items", {
            "db.operation.name": "PREPARE", "otelpreload.db.statement_name": "sql_prep",
            "db.query.text": other_text}, absent=NOT_ERROR)
        self.assertEqual(attrs(s[1]).get("db.query.text"),
                         "PREPARE sql_prep (int) AS SELECT name FROM otelp_items WHERE id = $1")
        execute = {"db.operation.name": "EXECUTE", "otelpreload.db.parameter_count": 1}
        self.assertSpan(s[2], "EXECUTE", dict(execute, **{
            "otelpreload.db.statement_name": "sql_prep"}),
            absent=("db.query.text", "db.query.summary") + NOT_ERROR)
        self.assertSpan(s[3], "SELECT otelp_items", {
            "otelpreload.db.statement_name": "sql_prep", "db.query.text": other_text,
            "db.query.summary": "SELECT otelp_items"},
            absent=("db.operation.name",) + NOT_ERROR)
        self.assertSpan(s[4], "PREPARE SELECT otelp_items", {
            "db.operation.name": "PREPARE", "otelpreload.db.statement_name": "reused",
            "db.query.text": other_text}, absent=NOT_ERROR)
        self.assertEqual(attrs(s[5]).get("db.query.text"),
                         "PREPARE reused (int) AS SELECT name FROM otelp_items WHERE id = $1")
        self.assertSpan(s[6], "EXECUTE", dict(execute, **{
            "otelpreload.db.statement_name": "reused"}),
            absent=("db.query.text", "db.query.summary") + NOT_ERROR)

    def test_describe_prepared_and_portal(self):
        p = self.pq("describe")
        self.assertEqual(p.stdout.decode().splitlines(), [
            "prepare desc_stmt: PGRES_COMMAND_OK ",
            "describe desc_stmt: PGRES_COMMAND_OK nparams=1 nfields=2 id name",
            "begin: PGRES_COMMAND_OK BEGIN",
            "declare: PGRES_COMMAND_OK DECLARE CURSOR",
            "describe otelp_cur: PGRES_COMMAND_OK nparams=0 nfields=2 id name",
            "send describe desc_stmt: PGRES_COMMAND_OK nparams=1 nfields=2 id name",
            "send describe otelp_cur: PGRES_COMMAND_OK nparams=0 nfields=2 id name",
            "commit: PGRES_COMMAND_OK COMMIT"])
        s = self.exact_db_spans(8)
        self.assertSpan(s[0], "PREPARE SELECT otelp_items", {
            "db.operation.name": "PREPARE", "otelpreload.db.statement_name": "desc_stmt",
            "db.query.text": "SELECT id, name FROM otelp_items WHERE id = $1"})
        self.assertSpan(s[1], "DESCRIBE", {"db.operation.name": "DESCRIBE",
                                           "otelpreload.db.statement_name": "desc_stmt"},
                        absent=("otelpreload.db.portal_name",) + NOT_ERROR)
        self.assertEqual([attrs(x).get("db.query.text") for x in (s[2], s[3], s[7])],
                         ["BEGIN", "DECLARE otelp_cur CURSOR FOR SELECT id, name FROM "
                          "otelp_items ORDER BY id", "COMMIT"])
        for x in (s[4], s[6]):  # PQdescribePortal, PQsendDescribePortal
            self.assertSpan(x, "DESCRIBE", {"db.operation.name": "DESCRIBE",
                                            "otelpreload.db.portal_name": "otelp_cur"},
                            absent=("otelpreload.db.statement_name",) + NOT_ERROR)
        self.assertSpan(s[5], "DESCRIBE", {"db.operation.name": "DESCRIBE",  # PQsendDescribe-
                                           "otelpreload.db.statement_name": "desc_stmt"},  # Prepared
                        absent=("otelpreload.db.portal_name",) + NOT_ERROR)

    def test_async(self):
        p = self.pq("async")
        self.assertEqual(p.stdout.decode().splitlines(), [
            "async query #1: PGRES_TUPLES_OK rows=1 [three]",
            "async query: end after 1 result(s)",
            "async params #1: PGRES_TUPLES_OK rows=1 [one]",
            "async params: end after 1 result(s)",
            "async prepare #1: PGRES_COMMAND_OK ",
            "async prepare: end after 1 result(s)",
            "async prepared #1: PGRES_TUPLES_OK rows=1 [2]",
            "async prepared: end after 1 result(s)",
            "async multi #1: PGRES_TUPLES_OK rows=1 [1]",
            "async multi #2: PGRES_TUPLES_OK rows=1 [2]",
            "async multi: end after 2 result(s)",
            "async second #1: PGRES_TUPLES_OK rows=1 [second]",
            "async second: end after 1 result(s)",
            "async first #1: PGRES_TUPLES_OK rows=1 [first]",
            "async first: end after 1 result(s)",
            "async division #1: PGRES_TUPLES_OK rows=1 [1]",
            "async division #2: PGRES_FATAL_ERROR 22012 division by zero",
            "async division: end after 2 result(s)"])
        s = self.exact_db_spans(8)
        self.assertSpan(s[0], "SELECT otelp_items", {
            "db.query.text": "SELECT name FROM otelp_items WHERE id = ?",
            "db.query.summary": "SELECT otelp_items"}, absent=NOT_PLAIN)
        self.assertSpan(s[1], "SELECT otelp_items", {
            "db.query.text": "SELECT name FROM otelp_items WHERE id = $1",
            "otelpreload.db.parameter_count": 1}, absent=NOT_ERROR)
        self.assertSpan(s[2], "PREPARE SELECT otelp_items", {
            "db.operation.name": "PREPARE", "otelpreload.db.statement_name": "async_stmt",
            "db.query.text": "SELECT id FROM otelp_items WHERE name = $1",
            "otelpreload.db.parameter_count": 1}, absent=NOT_ERROR)
        self.assertSpan(s[3], "SELECT otelp_items", {
            "otelpreload.db.statement_name": "async_stmt",
            "db.query.text": "SELECT id FROM otelp_items WHERE name = $1",
            "otelpreload.db.parameter_count": 1}, absent=("db.operation.name",) + NOT_ERROR)
        # "SELECT 1; SELECT 2": one span for both results. (The summary of two statements
        # is not pinned by the doc beyond naming the span: SELECT, or SELECT SELECT.)
        multi = s[4]
        self.assertIn(multi["name"], ("SELECT", "SELECT SELECT"))
        self.assertSpan(multi, multi["name"], {"db.query.text": "SELECT ?; SELECT ?",
                                               "db.query.summary": multi["name"]},
                        absent=NOT_PLAIN)
        # Two connections in flight, read in the reverse order: each span ends when its own
        # results are read.
        first, second = s[5], s[6]
        self.assertEqual(attrs(first).get("db.query.text"), "SELECT ? AS conn")
        self.assertEqual(attrs(second).get("db.query.text"), "SELECT ? AS conn")
        self.assertLessEqual(first["startTimeUnixNano"], second["startTimeUnixNano"])
        self.assertLessEqual(second["endTimeUnixNano"], first["endTimeUnixNano"],
                             "the first query's span ended before its results were read")
        self.assertGreater(first["endTimeUnixNano"], second["startTimeUnixNano"])
        # A failing second result puts the whole query's span in error; the stack is the one
        # of the call that delivered the last result (in run_async_division).
        self.assertSqlError(s[7], multi["name"], "SELECT ?; SELECT ?/?", "22012",
                            "division by zero", frame0="run_async_division")

    def test_pipeline_one_span_per_query(self):
        p = self.pq("pipeline")
        self.assertEqual(p.stdout.decode().splitlines(), [
            "pipeline query 1 #1: PGRES_TUPLES_OK rows=1 [2]",
            "pipeline query 1: end after 1 result(s)",
            "pipeline query 2 #1: PGRES_TUPLES_OK rows=1 [two]",
            "pipeline query 2: end after 1 result(s)",
            "pipeline query 3 #1: PGRES_COMMAND_OK ",
            "pipeline query 3: end after 1 result(s)",
            "pipeline query 4 #1: PGRES_TUPLES_OK rows=1 [3]",
            "pipeline query 4: end after 1 result(s)",
            "pipeline sync: PGRES_PIPELINE_SYNC",
            "pipeline batch 2 query 1 #1: PGRES_TUPLES_OK rows=1 [20]",
            "pipeline batch 2 query 1: end after 1 result(s)",
            "pipeline batch 2 sync: PGRES_PIPELINE_SYNC",
            "pipeline: exited"])
        s = self.exact_db_spans(5)  # the syncs belong to no span
        self.assertSpan(s[0], "SELECT", {"db.query.text": "SELECT $1::int + 1 AS n",
                                         "db.query.summary": "SELECT",
                                         "otelpreload.db.parameter_count": 1},
                        absent=NOT_ERROR)
        self.assertSpan(s[1], "SELECT otelp_items", {
            "db.query.text": "SELECT name FROM otelp_items WHERE id = $1",
            "otelpreload.db.parameter_count": 1}, absent=NOT_ERROR)
        self.assertSpan(s[2], "PREPARE SELECT otelp_items", {
            "db.operation.name": "PREPARE", "otelpreload.db.statement_name": "pipe_stmt",
            "db.query.text": "SELECT id FROM otelp_items WHERE name = $1"}, absent=NOT_ERROR)
        self.assertSpan(s[3], "SELECT otelp_items", {
            "otelpreload.db.statement_name": "pipe_stmt",
            "db.query.text": "SELECT id FROM otelp_items WHERE name = $1"},
            absent=("db.operation.name",) + NOT_ERROR)
        self.assertSpan(s[4], "SELECT", {"db.query.text": "SELECT $1::int * 10 AS n",
                                         "otelpreload.db.parameter_count": 1},
                        absent=NOT_ERROR)
        # All five were sent before any result was read; each ends with its own results.
        self.assertLess(max(x["startTimeUnixNano"] for x in s), s[0]["endTimeUnixNano"])
        ends = [x["endTimeUnixNano"] for x in s]
        self.assertEqual(ends, sorted(ends))

    def test_pipeline_aborted(self):
        p = self.pq("pipeline-abort")
        self.assertEqual(p.stdout.decode().splitlines(), [
            "pipeline-abort query 1 #1: PGRES_TUPLES_OK rows=1 [1]",
            "pipeline-abort query 1: end after 1 result(s)",
            "pipeline-abort query 2 #1: PGRES_FATAL_ERROR 22012 division by zero",
            "pipeline-abort query 2: end after 1 result(s)",
            "pipeline-abort query 3 #1: PGRES_PIPELINE_ABORTED",
            "pipeline-abort query 3: end after 1 result(s)",
            "pipeline-abort sync: PGRES_PIPELINE_SYNC",
            "pipeline-abort batch 2 query 1 #1: PGRES_TUPLES_OK rows=1 [3]",
            "pipeline-abort batch 2 query 1: end after 1 result(s)",
            "pipeline-abort batch 2 sync: PGRES_PIPELINE_SYNC",
            "pipeline-abort: exited"])
        s = self.exact_db_spans(4)
        self.assertSpan(s[0], "SELECT", {"db.query.text": "SELECT $1::int AS n"},
                        absent=NOT_ERROR)
        # The stack of the PQgetResult call that delivered the error: in drain(), called by
        # read_pipeline_results().
        self.assertSqlError(s[1], "SELECT", "SELECT 10 / $1::int AS n", "22012",
                            "division by zero", frame0="drain")
        self.assertTrue(stack_frames(attrs(s[1])["code.stacktrace"])[1][1].startswith(
            "read_pipeline_results+0x"), attrs(s[1])["code.stacktrace"])
        self.assertSpan(s[2], "SELECT", {"db.query.text": "SELECT $1::int + 2 AS n"},
                        status=ERROR, error_type="pipeline_aborted")
        # The batch after the sync is not aborted.
        self.assertSpan(s[3], "SELECT", {"db.query.text": "SELECT $1::int AS n"},
                        absent=NOT_ERROR)

    def test_successful_connections_make_no_span(self):
        p = self.pq("connect")
        self.assertEqual(p.stdout.decode().splitlines(), [
            "PQconnectdb: PGRES_TUPLES_OK rows=1 [postgres]",
            "PQconnectdbParams: PGRES_TUPLES_OK rows=1 [postgres]",
            "PQsetdbLogin: PGRES_TUPLES_OK rows=1 [postgres]",
            "PQconnectStart: PGRES_TUPLES_OK rows=1 [public]",
            "PQconnectStartParams: PGRES_TUPLES_OK rows=1 [t]"])
        # Five connections, one query each: five spans, the queries', with the attributes of
        # each connection however it was made.
        s = self.exact_db_spans(5)
        texts = ["SELECT current_user", "SELECT current_database()", "SELECT session_user",
                 "SELECT current_schema()", "SELECT pg_backend_pid() > ?"]
        for span, text in zip(s, texts):
            self.assertSpan(span, "SELECT", {"db.query.text": text}, absent=NOT_PLAIN)
        self.assertEqual([x for x in s if x["name"] == "CONNECT"], [])

    def check_failed_connection(self, sub):
        port = self.dead_port()
        p = self.pq(sub, port, setup=False)
        out = p.stdout.decode()
        self.assertTrue(out.startswith(sub + ": CONNECTION_BAD: "), out)
        self.assertIn("Connection refused", out)
        s = self.exact_db_spans(1)[0]
        self.assertEqual(s["name"], "CONNECT")
        self.assertEqual(status_code(s), ERROR, s)
        self.assertTrue(attrs(s).get("error.type"), "no error.type: %s" % attrs(s))
        self.assertIn("Connection refused", s.get("status", {}).get("message", ""), s)
        self.assertNotIn("db.operation.name", attrs(s))
        got = {k: attrs(s).get(k, "<absent>") for k in ("db.system.name", "db.namespace",
                                                        "server.address", "server.port")}
        self.assertEqual(got, {"db.system.name": "postgresql", "db.namespace": "postgres",
                               "server.address": "127.0.0.1", "server.port": port})

    def test_failed_connection(self):
        self.check_failed_connection("connect-fail")

    def test_failed_connection_async(self):
        self.check_failed_connection("connect-fail-async")

    def test_unix_socket(self):
        p = self.pq("unix")
        self.assertEqual(p.stdout, b"unix: PGRES_TUPLES_OK rows=1 [postgres]\n")
        s = self.exact_db_spans(1)[0]
        self.assertSpan(s, "SELECT", {
            "db.system.name": "postgresql", "db.namespace": "postgres",
            "server.address": "%s/.s.PGSQL.%d" % (self.pg["PGSOCKDIR"], self.port),
            "db.query.text": "SELECT current_user"},
            absent=("server.port", "network.peer.address", "network.peer.port") + NOT_PLAIN,
            tcp=False)

    def test_finish_with_query_in_flight(self):
        p = self.pq("finish-pending")
        self.assertEqual(p.stdout, b"finish-pending: finished with the query in flight\n")
        s = self.exact_db_spans(1)[0]
        self.assertSpan(s, "SELECT", {"db.query.text": "SELECT pg_sleep(?)"}, status=ERROR,
                        error_type="connection_closed")

    def test_reset_with_query_in_flight(self):
        """PQreset, then PQresetStart + PQresetPoll, each with a query whose result was not
        read: that query's span ends with connection_closed at the reset; the connection's
        next query has its attributes."""
        log = os.path.join(self.tmp, "preload.log")
        p = self.pq("reset", extra={"OTEL_LOG_LEVEL": "debug", "OTEL_PRELOAD_LOG_FILE": log})
        self.assertEqual(p.stdout.decode().splitlines(), [
            "reset: after PQreset: PGRES_TUPLES_OK rows=1 [postgres]",
            "reset: after PQresetStart: PGRES_TUPLES_OK rows=1 [postgres]"])
        s = self.exact_db_spans(4)
        self.assertSpan(s[0], "SELECT", {"db.query.text": "SELECT pg_sleep(?) AS before_reset"},
                        status=ERROR, error_type="connection_closed")
        self.assertSpan(s[1], "SELECT", {"db.query.text":
                                         "SELECT current_database() AS after_reset"},
                        absent=NOT_PLAIN)
        self.assertSpan(s[2], "SELECT", {"db.query.text":
                                         "SELECT pg_sleep(?) AS before_reset_start"},
                        status=ERROR, error_type="connection_closed")
        self.assertSpan(s[3], "SELECT", {"db.query.text":
                                         "SELECT current_database() AS after_reset_start"},
                        absent=NOT_PLAIN)
        # The abandoned queries end at their reset, before the next query starts.
        self.assertLessEqual(s[0]["endTimeUnixNano"], s[1]["startTimeUnixNano"])
        self.assertLessEqual(s[2]["endTimeUnixNano"], s[3]["startTimeUnixNano"])
        # By the reset hooks, not by the check for stale state after the reconnection.
        self.assertNotIn("not seen finishing", read_text(log))

    def test_failed_reset(self):
        """PQreset of a connection whose database was dropped: the query in flight ends with
        connection_closed, the reconnection that fails is a CONNECT span in error."""
        p = self.pq("reset-fail", setup=False)
        self.assertEqual(p.stdout.decode().splitlines(), [
            "reset-fail: drop: PGRES_COMMAND_OK DROP DATABASE",
            "reset-fail: create: PGRES_COMMAND_OK CREATE DATABASE",
            "reset-fail: drop (force): PGRES_COMMAND_OK DROP DATABASE",
            "reset-fail: after PQreset: CONNECTION_BAD"])
        spans = self.exact_db_spans(5)
        doomed = [x for x in spans if attrs(x).get("db.query.text") ==
                  "SELECT pg_sleep(?) AS doomed"]
        self.assertEqual(len(doomed), 1, describe(spans))
        self.assertSpan(doomed[0], "SELECT", {}, status=ERROR, error_type="connection_closed",
                        db="otelp_gone")
        connect = [x for x in spans if x["name"] == "CONNECT"]
        self.assertEqual(len(connect), 1, describe(spans))
        self.assertSpan(connect[0], "CONNECT", {}, status=ERROR,
                        error_type="connection_failed", db="otelp_gone", tcp=False)
        self.assertEqual((attrs(connect[0]).get("server.address"),
                          attrs(connect[0]).get("server.port")), ("127.0.0.1", self.port))
        self.assertNotIn("network.peer.address", attrs(connect[0]))
        self.assertIn('database "otelp_gone" does not exist',
                      connect[0]["status"].get("message", ""))
        self.assertGreaterEqual(connect[0]["startTimeUnixNano"], doomed[0]["endTimeUnixNano"])

    def check_cycles(self, n, threads, svc):
        """pq-all cycles n threads: every span has its own connection's attributes though
        PGconn addresses were reused, and no connection found state left at its address by
        an earlier one (the preload's debug log would say so)."""
        log = os.path.join(self.tmp, svc + ".log")
        extra = {"PQALL_ADDRESSES": "1", "OTEL_LOG_LEVEL": "debug",
                 "OTEL_PRELOAD_LOG_FILE": log, "OTEL_PRELOAD_STACKTRACE": "off"}
        if ASAN:
            # ASan holds freed memory back (quarantine): without this, no address is reused.
            extra["ASAN_OPTIONS"] = "detect_leaks=0:verify_asan_link_order=0:quarantine_size_mb=0"
        p = self.pq("cycles", n, threads, setup=False, extra=extra, svc=svc)
        total = n * threads
        lines = p.stdout.decode().splitlines()
        self.assertEqual(lines[0], "cycles: %d connections, each in its database" % total)
        m = re.match(r"^cycles: (\d+) distinct connection addresses$", lines[1])
        self.assertTrue(m, lines)
        self.assertLess(int(m.group(1)), total, "no PGconn address was reused: nothing tested")
        pending = total // 10
        spans = self.exact_db_spans(total + pending, svc)
        by_text = {attrs(x).get("db.query.text"): x for x in spans}
        self.assertEqual(len(by_text), total + pending)
        for g in range(total):
            db = "otelp_other" if g % 2 else "postgres"
            self.assertSpan(by_text["SELECT current_database() AS cycle_%d" % g], "SELECT",
                            {}, absent=NOT_PLAIN, db=db)
            if g % 10 == 9:
                self.assertSpan(by_text["SELECT ? AS pending_%d" % g], "SELECT", {},
                                status=ERROR, error_type="connection_closed", db=db)
        self.assertNotIn("not seen finishing", read_text(log))

    def test_many_connections_leave_no_state(self):
        """1000 connections made, queried and finished in turn, alternately to two databases,
        every tenth finished with a query in flight; then 4 threads doing 250 each at once."""
        self.run_prog([program("OTELP_PQ_ALL"), "createdb", "otelp_other"], "setup",
                      preload=False)
        self.check_cycles(1000, 1, "pq-cycles")
        self.check_cycles(250, 4, "pq-cycles-threads")
        # The same output without the preload (addresses aside).
        ref = self.pq("cycles", 40, 2, setup=False, preload=False)
        again = self.pq("cycles", 40, 2, setup=False, svc="pq-cycles-again")
        self.assertEqual((again.stdout, again.stderr), (ref.stdout, ref.stderr))

    def test_send_that_fails(self):
        """PQsendQuery returning 0 (another query in progress): its span ends at once."""
        p = self.pq("send-fail")
        self.assertEqual(p.stdout.decode().splitlines(), [
            "send while busy: 0 another command is already in progress",
            "send-fail first #1: PGRES_TUPLES_OK rows=1 [1]",
            "send-fail first: end after 1 result(s)",
            "send-fail after: PGRES_TUPLES_OK rows=1 [3]"])
        s = self.exact_db_spans(3)
        first, failed, after = s
        self.assertSpan(first, "SELECT", {"db.query.text": "SELECT ? AS first"},
                        absent=NOT_PLAIN)
        self.assertSpan(failed, "SELECT", {"db.query.text": "SELECT ? AS second"},
                        absent=("db.response.status_code",), status=ERROR, error_type="_OTHER")
        self.assertEqual(failed["status"].get("message", "").strip(),
                         "another command is already in progress")
        self.assertStack(failed, "run_send_while_busy")
        self.assertLess(failed["endTimeUnixNano"], first["endTimeUnixNano"],
                        "the failed send's span should end at once")
        self.assertSpan(after, "SELECT", {"db.query.text": "SELECT ? AS third"},
                        absent=NOT_PLAIN)

    def test_connection_lost(self):
        """The server ends the session: a result made by libpq (no SQLSTATE), then no result
        at all on the dead connection: error.type _OTHER and the connection's message."""
        p = self.pq("lost")
        lines = p.stdout.decode().splitlines()
        self.assertEqual(lines[0], "lost terminate: PGRES_TUPLES_OK rows=1 [t]")
        self.assertTrue(lines[1].startswith("lost first: PGRES_FATAL_ERROR - "), lines[1])
        self.assertEqual(lines[2:], ["lost status: CONNECTION_BAD",
                                     "lost second: no result: no connection to the server"])
        s = self.exact_db_spans(3)
        self.assertSpan(s[0], "SELECT", {
            "db.query.text": "SELECT pg_terminate_backend($1::int, 10000)"}, absent=NOT_ERROR)
        self.assertSpan(s[1], "SELECT", {"db.query.text": "SELECT ?"},
                        absent=("db.response.status_code",), status=ERROR, error_type="_OTHER")
        self.assertIn("server closed the connection unexpectedly",
                      s[1]["status"].get("message", ""))
        self.assertSpan(s[2], "SELECT", {"db.query.text": "SELECT ?"},
                        absent=("db.response.status_code",), status=ERROR, error_type="_OTHER")
        self.assertEqual(s[2]["status"].get("message", "").strip(),
                         "no connection to the server")
        self.assertStack(s[2], "run_on_dead_connection")

    def test_parent_is_manual_span(self):
        """Queries inside a manual span of the public API are its children."""
        p = self.pq("manual")
        self.assertEqual(p.stdout.decode().splitlines(), [
            "manual exec: PGRES_TUPLES_OK rows=1 [one]",
            "manual send #1: PGRES_TUPLES_OK rows=1 [2]",
            "manual send: end after 1 result(s)",
            "manual after: PGRES_TUPLES_OK rows=1 [3]"])
        spans = self.wait_spans(4, "pq-all")
        self.assertEqual(len(spans), 4, describe(spans))
        manual = [x for x in spans if x["name"] == "manual-operation"]
        self.assertEqual(len(manual), 1, describe(spans))
        dbs = db_spans(spans)
        self.assertEqual(len(dbs), 3, describe(spans))
        for d in dbs[:2]:
            self.assertChain(manual[0], d)
            self.assertLessEqual(d["endTimeUnixNano"], manual[0]["endTimeUnixNano"])
        self.assertEqual(parent(dbs[2]), "")
        self.assertNotEqual(dbs[2]["traceId"], manual[0]["traceId"])
        self.assertEqual([attrs(d).get("db.query.text") for d in dbs],
                         ["SELECT name FROM otelp_items WHERE id = ?", "SELECT ?", "SELECT ?"])

    def test_threads(self):
        """8 threads, a connection each, 40 queries each: one span per query, each with its
        own text, none with a parent."""
        p = self.pq("threads", 8, 40)
        self.assertEqual(p.stdout, b"threads: 8 x 40 queries, sum 1446240, 0 failed\n")
        s = self.exact_db_spans(320)
        texts = sorted(attrs(x).get("db.query.text") for x in s)
        self.assertEqual(texts, ["SELECT $1::int AS n"] * 160 + ["SELECT ? AS n"] * 160)
        for x in s:
            self.assertSpan(x, "SELECT", {"db.query.summary": "SELECT"},
                            absent=("otelpreload.db.statement_name",) + NOT_ERROR)
            self.assertEqual(parent(x), "")
        self.assertEqual(len({x["spanId"] for x in s}), 320)

    def test_null_arguments(self):
        """NULL connection, statement text or name: libpq refuses them as without the preload
        (test_output_identical...); any span made is well formed and in error; the connection
        still works."""
        p = self.pq("nulls")
        lines = p.stdout.decode().splitlines()
        self.assertEqual(lines[-1], "nulls after: PGRES_TUPLES_OK rows=1 [still fine]")
        spans = self.wait_spans(11, "pq-all")
        dbs = db_spans(spans, "pq-all")
        self.assertEqual(len(dbs), len(spans), describe(spans))
        for x in dbs:
            self.assertWellFormed(x)
        self.assertSpan(dbs[-1], "SELECT", {"db.query.text": "SELECT ? AS v"}, absent=NOT_PLAIN)
        self.assertEqual([x["name"] for x in dbs[:-1] if status_code(x) != ERROR], [],
                         "calls that failed made spans without an error")
        # The ten failed calls on the open connection, at least.
        self.assertGreaterEqual(len(dbs) - 1, 10, describe(dbs))
        codes = [attrs(x).get("error.type") for x in dbs if x["name"] == "DESCRIBE"
                 and attrs(x).get("db.namespace") == "postgres"]
        self.assertEqual(codes, ["26000", "34000"])

    def test_dlopen_and_dlsym(self):
        """libpq loaded with dlopen(RTLD_LOCAL), its functions taken with dlsym(handle)."""
        ref = self.run_prog([program("OTELP_PQ_DLOPEN")], "pq-dlopen", preload=False)
        p = self.run_prog([program("OTELP_PQ_DLOPEN")], "pq-dlopen")
        self.assertEqual(p.stdout.decode().splitlines(), [
            "dlopen query 1: dlopen one", "dlopen query 2: 42",
            "dlopen query 3: reset before its result", "dlopen query 4: after reset",
            "dlopen query 5: finished before its result"])
        self.assertEqual((p.stdout, p.stderr), (ref.stdout, ref.stderr))
        s = self.exact_db_spans(5, "pq-dlopen")
        self.assertSpan(s[0], "SELECT", {"db.query.text": "SELECT ? AS v",
                                         "db.query.summary": "SELECT"}, absent=NOT_PLAIN)
        self.assertSpan(s[1], "SELECT", {"db.query.text": "SELECT ? + ? AS v"},
                        absent=NOT_PLAIN)
        # PQreset and PQfinish taken with dlsym are ours too: the queries they abandon end.
        self.assertSpan(s[2], "SELECT", {"db.query.text": "SELECT ? AS v"}, status=ERROR,
                        error_type="connection_closed")
        self.assertSpan(s[3], "SELECT", {"db.query.text": "SELECT ? AS v"}, absent=NOT_PLAIN)
        self.assertSpan(s[4], "SELECT", {"db.query.text": "SELECT ? AS v"}, status=ERROR,
                        error_type="connection_closed")

    def test_plugin_module(self):
        """A module linked with libpq, loaded with dlopen(RTLD_LOCAL) by a host that is not."""
        args = [program("OTELP_PQ_PLUGIN_HOST"), program("OTELP_PQ_PLUGIN")]
        ref = self.run_prog(args, "pq-plugin", preload=False)
        p = self.run_prog(args, "pq-plugin")
        self.assertEqual(p.stdout, b"plugin query 1: plugin one\nplugin query 2: 42\n")
        self.assertEqual((p.stdout, p.stderr), (ref.stdout, ref.stderr))
        s = self.exact_db_spans(2, "pq-plugin")
        self.assertSpan(s[0], "SELECT", {"db.query.text": "SELECT ? AS v"}, absent=NOT_PLAIN)
        self.assertSpan(s[1], "SELECT", {"db.query.text": "SELECT $1::int * 6 AS v",
                                         "otelpreload.db.parameter_count": 1},
                        absent=NOT_ERROR)


# ---------------------------------------------------------------------------------------------
# 2. errors and stack traces

class Errors(PgBase):
    ERRORS_OUT = [
        "bad syntax: PGRES_FATAL_ERROR 42601 syntax error at end of input",
        "duplicate insert: PGRES_FATAL_ERROR 23505 duplicate key value violates unique "
        "constraint \"otelp_items_pkey\"",
        "params division: PGRES_FATAL_ERROR 22012 division by zero",
        "good query: PGRES_TUPLES_OK rows=1 [two]"]

    def errors(self, extra=None):
        p = self.pq("errors", extra=extra)
        self.assertEqual(p.stdout.decode().splitlines(), self.ERRORS_OUT)
        return self.exact_db_spans(4)

    def check_error_spans(self, s):
        self.assertSqlError(s[0], "SELECT otelp_items", "SELECT * FROM otelp_items WHERE",
                            "42601", "syntax error at end of input")
        self.assertSqlError(s[1], "INSERT otelp_items",
                            "INSERT INTO otelp_items (id, name) VALUES (?, ?)", "23505",
                            "duplicate key value violates unique constraint "
                            "\"otelp_items_pkey\"")
        self.assertSqlError(s[2], "SELECT", "SELECT 10 / $1::int", "22012", "division by zero",
                            extra={"otelpreload.db.parameter_count": 1})
        self.assertSpan(s[3], "SELECT otelp_items", {
            "db.query.text": "SELECT name FROM otelp_items WHERE id = ?"},
            absent=("error.type", "db.response.status_code"))

    def test_errors_default_stacktrace_on_errors_only(self):
        s = self.errors()
        self.check_error_spans(s)
        self.assertStack(s[0], "run_bad_syntax", os.path.basename(program("OTELP_PQ_ALL")))
        self.assertStack(s[1], "run_duplicate_insert")
        self.assertStack(s[2], "run_params_division")
        self.assertNotIn("code.stacktrace", attrs(s[3]))

    def test_stacktrace_all(self):
        s = self.errors({"OTEL_PRELOAD_STACKTRACE": "all"})
        self.check_error_spans(s)
        for span, fn in zip(s, ("run_bad_syntax", "run_duplicate_insert", "run_params_division",
                                "run_good_query")):
            self.assertStack(span, fn)

    def test_stacktrace_off(self):
        s = self.errors({"OTEL_PRELOAD_STACKTRACE": "off"})
        self.check_error_spans(s)
        self.assertEqual([x["name"] for x in s if "code.stacktrace" in attrs(x)], [])


# ---------------------------------------------------------------------------------------------
# 3. variables: query text, SQL commenter, returned rows, disabled instrumentation

class Variables(PgBase):
    EXEC_RAW = ["SELECT id, name FROM otelp_items WHERE id = 1 AND name = 'one'",
                "INSERT INTO otelp_items (id, name) VALUES (10, 'ten')",
                "UPDATE otelp_items SET name = 'TEN' WHERE id = 10",
                "DELETE FROM otelp_items WHERE id = 10", "SELECT 1"]
    SUMMARIES = ["SELECT otelp_items", "INSERT otelp_items", "UPDATE otelp_items",
                 "DELETE otelp_items", "SELECT"]

    def test_query_text_raw(self):
        self.pq("exec", extra={"OTEL_PRELOAD_DB_QUERY_TEXT": "raw"})
        s = self.exact_db_spans(5)
        for span, text, summary in zip(s, self.EXEC_RAW, self.SUMMARIES):
            self.assertSpan(span, summary, {"db.query.text": text, "db.query.summary": summary},
                            absent=NOT_PLAIN)

    def test_query_text_off(self):
        self.pq("exec", extra={"OTEL_PRELOAD_DB_QUERY_TEXT": "off"})
        s = self.exact_db_spans(5)
        for span, summary in zip(s, self.SUMMARIES):
            self.assertSpan(span, summary, {"db.query.summary": summary},
                            absent=("db.query.text",) + NOT_PLAIN)
        self.pq("params", extra={"OTEL_PRELOAD_DB_QUERY_TEXT": "off"}, svc="pq-params")
        s = self.exact_db_spans(3, "pq-params")
        for span in s:
            self.assertNotIn("db.query.text", attrs(span))
            self.assertIn("db.query.summary", attrs(span))

    def test_sqlcommenter(self):
        app = "otelp-commenter-%d" % next(_apps)
        ref = self.pq("commenter", preload=False, app=app + "-ref")
        p = self.pq("commenter", app=app, extra={"OTEL_PRELOAD_DB_SQLCOMMENTER": "true"})
        self.assertEqual((p.stdout, p.stderr), (ref.stdout, ref.stderr))
        s = self.exact_db_spans(8)
        big_text = "SELECT length('" + "x" * (70 * 1024) + "') AS n"
        # What pq-all sends (one span each, in this order) and whether the comment goes in.
        sent = [("SELECT name FROM otelp_items WHERE id = 1", True),
                ("SELECT 'a;b' AS x;", True),             # before the final ';'
                ("SELECT 'it''s' AS x", True),
                ("SELECT 1 /* unterminated", False),      # ends inside a comment
                ("SELECT 'open", False),                  # ends inside a quote
                (big_text, False),                        # > 64 KiB
                ("SELECT 2 AS two", True),                # PQsendQuery
                ("SELECT name FROM otelp_items WHERE id = $1", False)]  # PQexecParams
        # What the server received, in order: statements as logged, and for the two that
        # failed to parse, the error's STATEMENT line.
        got = logged_statements(self.pglog, app)
        errs = logged_errors(self.pglog, app)
        self.assertEqual([t for _, t in errs], [sent[3][0], sent[4][0]])  # unchanged
        self.assertEqual([k for k, _ in got], ["statement"] * 5 + ["execute <unnamed>"],
                         [(k, t[:100]) for k, t in got])
        received = dict(zip((0, 1, 2, 5, 6, 7), (t for _, t in got)))
        comment = re.compile(r"^(.*?)\s*/\*traceparent='00-([0-9a-f]{32})-([0-9a-f]{16})-"
                             r"([0-9a-f]{2})'\*/(\s*;?\s*)$", re.S)
        for i, text in received.items():
            original, commented = sent[i]
            if not commented:
                self.assertEqual(text, original, "should be sent unchanged")
                continue
            m = comment.match(text)
            self.assertIsNotNone(m, "no traceparent comment in %r" % text[:200])
            self.assertEqual(m.group(1).rstrip() + m.group(5).strip(), original, text)
            if original.endswith(";"):
                self.assertEqual(m.group(5).strip(), ";", "not before the final ';': %r" % text)
            # The query's own span, with its W3C trace flags (sampled at least).
            self.assertEqual("00-%s-%s-%s" % m.group(2, 3, 4), traceparent(s[i]),
                             "the comment of %r names another span than the query's" % text)
            self.assertEqual(int(m.group(4), 16) & 1, 1, text)
        # The spans' text is the statement without the comment.
        self.assertEqual([attrs(s[i]).get("db.query.text") for i in (0, 1, 2, 6, 7)],
                         ["SELECT name FROM otelp_items WHERE id = ?", "SELECT ? AS x;",
                          "SELECT ? AS x", "SELECT ? AS two", sent[7][0]])
        for x in s:
            self.assertNotIn("traceparent", attrs(x).get("db.query.text", ""))
        # Without the variable: nothing appended.
        self.assertEqual([t for _, t in logged_statements(self.pglog, app + "-ref")],
                         [sent[i][0] for i in (0, 1, 2, 5, 6, 7)])

    def test_sqlcommenter_off_by_default(self):
        app = "otelp-nocomment-%d" % next(_apps)
        self.pq("exec", app=app)
        self.exact_db_spans(5)
        self.assertEqual([t for _, t in logged_statements(self.pglog, app)], self.EXEC_RAW)

    def test_returned_rows(self):
        p = self.pq("rows", extra={"OTEL_PRELOAD_DB_RETURNED_ROWS": "true"})
        self.assertEqual(p.stdout.decode().splitlines(), [
            "rows 3: PGRES_TUPLES_OK rows=3 [1|2|3]",
            "rows 0: PGRES_TUPLES_OK rows=0 []",
            "rows 1: PGRES_TUPLES_OK rows=1 [one]",
            "rows multi #1: PGRES_TUPLES_OK rows=1 [1]",
            "rows multi #2: PGRES_TUPLES_OK rows=2 [2|3]",
            "rows multi: end after 2 result(s)",
            "rows single #1: PGRES_SINGLE_TUPLE rows=1 [1]",
            "rows single #2: PGRES_SINGLE_TUPLE rows=1 [2]",
            "rows single #3: PGRES_SINGLE_TUPLE rows=1 [3]",
            "rows single #4: PGRES_TUPLES_OK rows=0 []",
            "rows single: end after 4 result(s)",
            "rows insert: PGRES_COMMAND_OK INSERT 0 1",
            "rows delete: PGRES_COMMAND_OK DELETE 1"])
        s = self.exact_db_spans(7)
        # Single-row mode (PQsetSingleRowMode): the rows come in PGRES_SINGLE_TUPLE results
        # and the final PGRES_TUPLES_OK has none; the query returned 3 rows.
        self.assertEqual([attrs(x).get("db.response.returned_rows", "<absent>") for x in s],
                         [3, 0, 1, 3, 3, "<absent>", "<absent>"],
                         [attrs(x).get("db.query.text") for x in s])
        # Off by default.
        self.pq("rows", svc="pq-rows-default")
        s = self.exact_db_spans(7, "pq-rows-default")
        self.assertEqual([x["name"] for x in s if "db.response.returned_rows" in attrs(x)], [])

    def test_disabled_instrumentation(self):
        """OTEL_PRELOAD_DISABLED_INSTRUMENTATIONS=libpq: no span, the same output."""
        port = self.dead_port()
        off = {"OTEL_PRELOAD_DISABLED_INSTRUMENTATIONS": "libpq"}
        for sub in SUBCOMMANDS:
            args = [port if a == "PORT" else a for a in sub]
            ref = self.pq(*args, preload=False, setup=True)
            p = self.pq(*args, extra=off, svc="pq-off", setup=True)
            self.assertEqual((p.returncode, p.stdout, p.stderr),
                             (ref.returncode, ref.stdout, ref.stderr), sub)
        for prog in ([program("OTELP_PQ_DLOPEN")],
                     [program("OTELP_PQ_PLUGIN_HOST"), program("OTELP_PQ_PLUGIN")]):
            self.run_prog(prog, "pq-off", extra=off)
        # Proof that this receiver hears the preload: the same program with another
        # instrumentation disabled makes its spans.
        self.pq("exec", extra={"OTEL_PRELOAD_DISABLED_INSTRUMENTATIONS": "hiredis"},
                svc="pq-on")
        self.exact_db_spans(5, "pq-on")
        off_spans = [x for x in self.rx.spans() if service(x) == "pq-off"]
        self.assertEqual(describe(db_spans(off_spans)), [])
        # Only the manual span of the public API (pq-all manual) remains.
        self.assertEqual([x["name"] for x in off_spans], ["manual-operation"])


# Every subcommand of pq-all (PORT: a port with nothing listening).
SUBCOMMANDS = [("exec",), ("params",), ("prepared",), ("prepared-sql",), ("describe",),
               ("async",), ("pipeline",), ("pipeline-abort",), ("connect",),
               ("connect-fail", "PORT"), ("connect-fail-async", "PORT"), ("unix",),
               ("errors",), ("finish-pending",), ("reset",), ("send-fail",), ("lost",), ("manual",),
               ("commenter",), ("rows",), ("nulls",), ("threads", "4", "25"), ("loop", "20")]


class Output(PgBase):
    def test_output_identical_with_and_without_preload(self):
        port = self.dead_port()
        for sub in SUBCOMMANDS:
            args = [port if a == "PORT" else a for a in sub]
            ref = self.pq(*args, preload=False)
            p = self.pq(*args)
            self.assertEqual((p.returncode, p.stdout, p.stderr),
                             (ref.returncode, ref.stdout, ref.stderr), sub)
            self.assertTrue(ref.stdout)
        # And with every option on.
        every = {"OTEL_PRELOAD_DB_SQLCOMMENTER": "true", "OTEL_PRELOAD_DB_RETURNED_ROWS": "true",
                 "OTEL_PRELOAD_STACKTRACE": "all", "OTEL_PRELOAD_DB_QUERY_TEXT": "raw"}
        for sub in SUBCOMMANDS:
            args = [port if a == "PORT" else a for a in sub]
            ref = self.pq(*args, preload=False)
            p = self.pq(*args, extra=every, svc="pq-every")
            self.assertEqual((p.returncode, p.stdout, p.stderr),
                             (ref.returncode, ref.stdout, ref.stderr), sub)

    def test_spans_match_server_statements(self):
        """For each subcommand: one span per statement the server executed (log_statement),
        plus the ones it did not log: errors before execution, aborted pipeline queries,
        PREPARE and DESCRIBE (not logged by log_statement), failed connections."""
        port = self.dead_port()
        # Spans that no "statement"/"execute" log line stands for, per subcommand.
        unlogged = {"prepared": 2, "prepared-sql": 2, "describe": 5, "async": 1,
                    "pipeline": 1, "pipeline-abort": 2, "connect-fail": 1,
                    "connect-fail-async": 1, "errors": 2, "send-fail": 1, "lost": 2,
                    "commenter": 2}
        for sub in SUBCOMMANDS:
            if sub[0] == "nulls":
                continue  # calls refused by libpq itself: see test_null_arguments
            args = [port if a == "PORT" else a for a in sub]
            svc = "pq-count-%s" % sub[0]
            app = "otelp-count-%d" % next(_apps)
            self.pq(*args, svc=svc, app=app)
            logged = len(self.settled_statements(app))
            n = logged + unlogged.get(sub[0], 0)
            manual = 1 if sub[0] == "manual" else 0  # its INTERNAL span
            spans = self.wait_spans(n + manual, svc)
            self.assertEqual(len(spans), n + manual, (sub, describe(spans)))
            self.assertEqual(len(db_spans(spans)), n, (sub, describe(spans)))


# ---------------------------------------------------------------------------------------------
# 4. a query inside an HTTP request handled by a preloaded server

class InsideHttpRequest(PgBase):
    asan_ok = False

    def test_query_is_child_of_server_span(self):
        try:
            import psycopg2  # noqa: F401
        except ImportError:
            self.skipTest("psycopg2 is not importable by /usr/bin/python3 (Debian package "
                          "python3-psycopg2)")
        if not have("curl"):
            self.skipTest("curl is not installed")
        self.setup_table()
        bodies = {}
        for preload in (False, True):
            port = free_port()
            app = "otelp-http-%d" % next(_apps)
            srv = Proc([PY, HTTP_SERVER, str(port)],
                       self.env("pyserver", preload=preload, app=app), self.tmp, "pyserver")
            self.procs.append(srv)
            srv.wait_ready(("127.0.0.1", port))
            out = []
            for item in (2, 3):
                c = self.run_prog(["curl", "-sS", "--max-time", "30",
                                   "http://127.0.0.1:%d/item?id=%d" % (port, item)], "curl",
                                  preload=preload)
                out.append(c.stdout)
            bodies[preload] = out
            if preload:
                spans = self.wait_spans(6)
            srv.stop()
            self.procs.remove(srv)
            self.assertEqual(srv.stderr(), b"")
        self.assertEqual(bodies[False], [b"two\n", b"three\n"])
        self.assertEqual(bodies[True], bodies[False])
        spans = self.rx.spans(accepted_only=True)
        self.assertEqual(len(logged_statements(self.pglog, app)), 2)
        clients = select(spans, CLIENT, "curl")
        servers = select(spans, SERVER, "pyserver")
        dbs = db_spans(spans, "pyserver")
        self.assertEqual((len(clients), len(servers), len(dbs), len(spans)), (2, 2, 2, 6),
                         describe(spans))
        for d in dbs:
            self.assertWellFormed(d)
            self.assertSpan(d, "SELECT otelp_items", {
                "db.query.text": "SELECT name FROM otelp_items WHERE id = ?",
                "db.query.summary": "SELECT otelp_items"}, absent=NOT_PLAIN)
            s = [x for x in servers if x["spanId"] == parent(d)]
            self.assertEqual(len(s), 1, "the DB span's parent is not a server span")
            c = [x for x in clients if x["spanId"] == parent(s[0])]
            self.assertEqual(len(c), 1)
            self.assertChain(c[0], s[0], d)
            self.assertLessEqual(s[0]["startTimeUnixNano"], d["startTimeUnixNano"])
            self.assertLessEqual(d["endTimeUnixNano"], s[0]["endTimeUnixNano"])
        self.assertNotEqual(parent(dbs[0]), parent(dbs[1]))


# ---------------------------------------------------------------------------------------------
# 5. unmodified programs: psql, pgbench

def normalize_pgbench(out):
    """pgbench's output with its timings and rates blanked."""
    out = re.sub(rb"\d+\.\d+", b"N", out)
    out = re.sub(rb"\(drop tables[^)]*\)", b"(...)", out)
    return out


class Unmodified(PgBase):
    asan_ok = False

    def createdb(self, name):
        p = self.run_prog(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c",
                           "DROP DATABASE IF EXISTS %s" % name, "-c",
                           "CREATE DATABASE %s" % name], "createdb", preload=False)
        self.assertEqual(p.returncode, 0)

    def check_against_log(self, svc, app, db, raw=True):
        """The spans of svc are exactly the statements the server logged for app: as many,
        the same texts (raw), well formed, none in error."""
        logged = logged_statements(self.pglog, app)
        self.assertEqual(logged_errors(self.pglog, app), [])
        self.assertGreater(len(logged), 0)
        self.assertEqual({k for k, _ in logged}, {"statement"}, "simple protocol expected")
        spans = self.wait_spans(len(logged), svc, timeout=30)
        dbs = db_spans(spans, svc)
        self.assertEqual(len(spans), len(logged),
                         "%d spans for %d statements the server received" % (len(spans),
                                                                           len(logged)))
        self.assertEqual(len(dbs), len(spans))
        for s in dbs:
            self.assertWellFormed(s)
            self.assertEqual(status_code(s), UNSET, s)
            got = {k: attrs(s).get(k) for k in ("db.namespace", "server.address",
                                                "server.port")}
            self.assertEqual(got, {"db.namespace": db, "server.address": "127.0.0.1",
                                   "server.port": self.port})
        if raw:
            self.assertEqual(sorted(attrs(s).get("db.query.text") for s in dbs),
                             sorted(t for _, t in logged))
        return dbs, logged

    def test_psql(self):
        if not have("psql"):
            self.skipTest("psql is not installed")
        self.setup_table()
        args = ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-c", "SELECT 1", "-c", "SELECT 2",
                "-c", r"\d otelp_items"]
        ref = self.run_prog(args, "psql", preload=False)
        app = "otelp-psql-%d" % next(_apps)
        p = self.run_prog(args, "psql", app=app, extra={"OTEL_PRELOAD_DB_QUERY_TEXT": "raw"})
        self.assertEqual((p.stdout, p.stderr), (ref.stdout, ref.stderr))
        dbs, logged = self.check_against_log("psql", app, "postgres")
        self.assertEqual([t for _, t in logged][:2], ["SELECT 1", "SELECT 2"])
        self.assertEqual([attrs(s)["db.query.text"] for s in dbs][:2], ["SELECT 1", "SELECT 2"])
        self.assertGreater(len(logged), 2)  # \d ran queries of its own

    def test_pgbench(self):
        if not have("pgbench") or not have("psql"):
            self.skipTest("pgbench / psql are not installed (Debian package "
                          "postgresql-client)")
        db = "otelp_bench"
        self.createdb(db)
        # Initialization: DDL, COPY, VACUUM... (raw texts compared with the server's log).
        init = ["pgbench", "-i", "-s", "1", "-q"]
        # A first run creates the tables: the reference and the traced run then both drop
        # existing ones (no "does not exist" notices in either).
        self.run_prog(init, "pgbench-init", preload=False, db=db)
        ref = self.run_prog(init, "pgbench-init", preload=False, db=db,
                            app="otelp-init-ref-%d" % next(_apps))
        app = "otelp-init-%d" % next(_apps)
        p = self.run_prog(init, "pgbench-init", app=app, db=db,
                          extra={"OTEL_PRELOAD_DB_QUERY_TEXT": "raw"})
        self.assertEqual(normalize_pgbench(p.stderr), normalize_pgbench(ref.stderr))
        self.assertEqual(normalize_pgbench(p.stdout), normalize_pgbench(ref.stdout))
        self.check_against_log("pgbench-init", app, db)
        # Select-only, two clients on one thread (asynchronous libpq), an exact count.
        n = 200
        run = ["pgbench", "-S", "-t", str(n), "-c", "2", "-j", "1"]
        ref_app = "otelp-bench-ref-%d" % next(_apps)
        ref = self.run_prog(run, "pgbench-ref", preload=False, db=db, app=ref_app)
        app = "otelp-bench-%d" % next(_apps)
        p = self.run_prog(run, "pgbench", db=db, app=app)
        self.assertIn(b"number of transactions actually processed: %d/%d" % (2 * n, 2 * n),
                      p.stdout)
        self.assertEqual(normalize_pgbench(p.stdout), normalize_pgbench(ref.stdout))
        self.assertEqual(normalize_pgbench(p.stderr), normalize_pgbench(ref.stderr))
        self.assertEqual(len(logged_statements(self.pglog, app)),
                         len(logged_statements(self.pglog, ref_app)),
                         "the preload changed what pgbench sent")
        dbs, logged = self.check_against_log("pgbench", app, db, raw=False)
        selects = [s for s in dbs if attrs(s).get("db.query.summary") == "SELECT "
                   "pgbench_accounts"]
        self.assertEqual(len(selects), 2 * n)
        for s in selects:
            self.assertEqual(s["name"], "SELECT pgbench_accounts")
            self.assertEqual(attrs(s).get("db.query.text"),
                             "SELECT abalance FROM pgbench_accounts WHERE aid = ?;")
        self.assertEqual(len([t for _, t in logged if t.startswith("SELECT abalance ")]), 2 * n)


if __name__ == "__main__":
    unittest.main(verbosity=2)
