#!/usr/bin/python3
"""Tests of `otel-preload view` (tools/view.c, tools/html.c).

Environment (set by tests/tools/meson.build): OTELP_TOOL, the built otel-preload; OTELP_LIB,
libotelpreload.so (end-to-end test).

(a) Terminal output: golden/traces.jsonl (two traces, three services, a nested tree, error
    spans, database spans, an orphan span, a malformed line and a partial last line, proto3
    JSON variants: enum names, numbers for int64, base64 ids) must give exactly
    golden/traces.txt with --color=never. After an intended change of the format, regenerate
    it and review the diff:

        OTELP_UPDATE_GOLDEN=1 OTELP_TOOL=/tmp/build-view/tools/otel-preload \\
            /usr/bin/python3 tests/tools/test_view.py TestText.test_golden
        git diff tests/tools/golden/

    Also: --trace, --limit, colour, exit statuses, hostile input.
(b) HTML: the page in headless Chromium (--dump-dom after the script ran, the #span= fragment
    opening a span's details, a screenshot). Skipped only when chromium is not installed. The
    screenshot is kept next to the tool (OTELP_SCREENSHOT_DIR overrides) and its path printed.
(c) End to end: curl against python3 -m http.server, both preloaded with the file exporter into
    one file; the viewer must show the server span nested under the client span.
"""
import base64
import html.parser
import json
import os
import pty
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "golden")
SAMPLE = os.path.join(GOLDEN, "traces.jsonl")
TOOL = os.environ.get("OTELP_TOOL", "")
LIB = os.environ.get("OTELP_LIB", "")
TRACE_A = "4bf92f3577b34da6a3ce929d0e0e4736"  # older: frontend, orders, payments; errors
TRACE_B = "0af7651916cd43dd8448eb211c80319c"  # newer: orders, payments; an orphan
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def view(*args, stdin=None, env=None, cwd=None):
    e = dict(os.environ)
    e.pop("NO_COLOR", None)
    e.update(env or {})
    return subprocess.run([TOOL, "view", *args], input=stdin, capture_output=True, env=e,
                          cwd=cwd, timeout=120)


def norm_id(s, n):
    """A hex or base64 id (as the sample may hold either) as lowercase hex."""
    if len(s) == 2 * n and re.fullmatch(r"[0-9a-fA-F]+", s):
        return s.lower()
    return base64.b64decode(s).hex()


def sample_spans():
    """{traceId: {spanId: span}} read straight from the sample (the oracle for the page)."""
    traces = {}
    with open(SAMPLE, encoding="utf-8") as f:
        for line in f:
            try:
                req = json.loads(line)
            except ValueError:
                continue
            for rs in req.get("resourceSpans", []):
                for ss in rs.get("scopeSpans", []):
                    for sp in ss.get("spans", []):
                        tid = norm_id(sp["traceId"], 16)
                        traces.setdefault(tid, {})[norm_id(sp["spanId"], 8)] = sp
    return traces


def write(path, lines):
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in lines))


def req(spans, service="svc"):
    return json.dumps({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
        "scopeSpans": [{"spans": spans}]}]})


def span(tid, sid, parent=None, name="op", start=1_700_000_000_000_000_000, dur=1000, **kw):
    s = {"traceId": tid, "spanId": sid, "name": name, "kind": 1,
         "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + dur)}
    if parent:
        s["parentSpanId"] = parent
    s.update(kw)
    return s


@unittest.skipUnless(TOOL and os.access(TOOL, os.X_OK), "OTELP_TOOL is not set to the built otel-preload")
class TestText(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="otelp-view-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def golden(self):
        with open(os.path.join(GOLDEN, "traces.txt"), encoding="utf-8") as f:
            return f.read()

    def test_golden(self):
        r = view("traces.jsonl", "--color=never", cwd=GOLDEN)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout.decode()
        if os.environ.get("OTELP_UPDATE_GOLDEN"):
            with open(os.path.join(GOLDEN, "traces.txt"), "w", encoding="utf-8") as f:
                f.write(out)
            print("\nrewrote", os.path.join(GOLDEN, "traces.txt"), file=sys.stderr)
        self.assertEqual(out, self.golden())
        # One warning for both bad lines (a malformed one, the partial last one).
        err = r.stderr.decode()
        self.assertEqual(err.count("\n"), 1, err)
        self.assertIn("skipped 2 lines", err)
        self.assertIn("first: line 3", err)
        self.assertIn("incomplete", err)

    def test_golden_content(self):
        """What the golden output must show, so a regenerated golden file is still checked."""
        out = self.golden()
        # Most recent trace first; headers with counts.
        self.assertLess(out.index(TRACE_B), out.index(TRACE_A))
        self.assertRegex(out, r"Trace %s  GET /checkout  3 services  8 spans  3 errors  120ms"
                         % TRACE_A)
        lines = out.splitlines()
        # The nested tree across three services; the span with base64 ids under its parent.
        insert = next(l for l in lines if "INSERT payments.attempts" in l)
        charge = next(l for l in lines if "POST /charge" in l)
        self.assertGreater(insert.index("INSERT"), charge.index("POST /charge"))
        self.assertRegex(insert, r"└─ INSERT payments.attempts +payments +CLIENT +\+30.0ms +4.75ms")
        # Errors marked without colour.
        self.assertTrue(insert.startswith("! "))
        self.assertTrue(charge.startswith("! "))
        self.assertIn("ERROR: card declined by issuer", out)
        self.assertIn("db.response.status_code=23505", out)
        # Database attributes, the query cut.
        self.assertIn("db.system.name=postgresql", out)
        self.assertRegex(out, r'db.query.text="SELECT id, customer_id[^"]*…"')
        # The orphan, marked and explained; a control character made harmless.
        self.assertIn("⋯ POST /refund", out)
        self.assertIn("parent span 0123456789abcdef is not in the file", out)
        self.assertIn("validate?input <script>", out)
        self.assertNotIn("\t", out)

    def test_trace_filter(self):
        blocks = self.golden().split("\n\n")
        for prefix, block in ((TRACE_A[:4], blocks[1]), (TRACE_B, blocks[0]),
                              (TRACE_A.upper(), blocks[1])):
            r = view(SAMPLE, "--trace", prefix, "--color=never")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout.decode().rstrip("\n"), block.rstrip("\n"))
        r = view(SAMPLE, "--trace=ffff")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, b"")
        self.assertIn(b"no trace id starts with ffff", r.stderr)

    def test_limit(self):
        r = view(SAMPLE, "--limit", "1", "--color=never")
        self.assertEqual(r.returncode, 0)
        out = r.stdout.decode()
        self.assertIn(TRACE_B, out)
        self.assertNotIn(TRACE_A, out)
        self.assertIn("(1 of 2 traces shown", out)
        r = view(SAMPLE, "-n", "0", "--color=never")
        self.assertEqual(r.stdout.decode(), self.golden())

    def test_exit_status(self):
        empty = os.path.join(self.tmp, "empty.jsonl")
        write(empty, [])
        junk = os.path.join(self.tmp, "junk.jsonl")
        write(junk, ["not json", "[1,2]", '{"resourceSpans": 3}'])
        cases = [
            ((SAMPLE,), 0),
            ((os.path.join(self.tmp, "missing.jsonl"),), 1),
            ((empty,), 1),
            ((junk,), 1),
            ((self.tmp,), 1),  # a directory
            ((), 2),
            ((SAMPLE, SAMPLE), 2),
            ((SAMPLE, "--bogus"), 2),
            ((SAMPLE, "--limit", "x"), 2),
            ((SAMPLE, "--limit", "-1"), 2),
            ((SAMPLE, "--color=sometimes"), 2),
            ((SAMPLE, "--trace", "xyz"), 2),
            ((SAMPLE, "--trace"), 2),
            (("--help",), 0),
        ]
        for args, status in cases:
            with self.subTest(args=args):
                r = view(*args)
                self.assertEqual(r.returncode, status, r.stderr)
                if status == 2:
                    self.assertIn(b"Try 'otel-preload view --help'", r.stderr)
        r = view(os.path.join(self.tmp, "missing.jsonl"))
        self.assertIn(b"No such file", r.stderr)

    def test_stdin(self):
        with open(SAMPLE, "rb") as f:
            r = view("-", "--color=never", stdin=f.read())
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.decode(), self.golden())

    def test_color(self):
        plain = view(SAMPLE, "--color=never").stdout.decode()
        self.assertNotIn("\x1b", plain)
        self.assertNotIn("\x1b", view(SAMPLE).stdout.decode())  # a pipe: auto is off
        colored = view(SAMPLE, "--color=always", env={"NO_COLOR": "1"}).stdout.decode()
        self.assertIn("\x1b[1;31m! ", colored)  # error rows in red
        self.assertEqual(ANSI.sub("", colored), plain)
        self.assertEqual(ANSI.sub("", view(SAMPLE, "--color").stdout.decode()), plain)
        # auto on a terminal: colour, unless NO_COLOR.
        for env, want in (({}, True), ({"NO_COLOR": "1"}, False)):
            master, slave = pty.openpty()
            try:
                e = dict(os.environ, **env)
                if not env:
                    e.pop("NO_COLOR", None)
                p = subprocess.Popen([TOOL, "view", SAMPLE], stdout=slave,
                                     stderr=subprocess.DEVNULL, env=e)
                os.close(slave)
                slave = -1
                data = b""
                while True:
                    try:
                        chunk = os.read(master, 65536)
                    except OSError:  # EIO: the other side closed
                        break
                    if not chunk:
                        break
                    data += chunk
                self.assertEqual(p.wait(timeout=60), 0)
            finally:
                os.close(master)
                if slave >= 0:
                    os.close(slave)
            self.assertEqual(b"\x1b[" in data, want, env)

    def test_hostile_input(self):
        """Loops of parents, duplicates, deep chains, junk: no crash, every span shown once."""
        t = "11" * 16
        deep = 3000
        spans = [span(t, "%016x" % (i + 1), "%016x" % i if i else None, name="d%d" % i,
                      start=1_700_000_000_000_000_000 + i) for i in range(deep)]
        loop = [span(t, "aaaaaaaaaaaaaaa1", "aaaaaaaaaaaaaaa2", name="loop1"),
                span(t, "aaaaaaaaaaaaaaa2", "aaaaaaaaaaaaaaa1", name="loop2"),
                span(t, "aaaaaaaaaaaaaaa3", "aaaaaaaaaaaaaaa2", name="hangs-off-loop"),
                span(t, "aaaaaaaaaaaaaaa4", "aaaaaaaaaaaaaaa4", name="self-parent"),
                span(t, "aaaaaaaaaaaaaaa5", name="dup"), span(t, "aaaaaaaaaaaaaaa5", name="dup"),
                span(t, "aaaaaaaaaaaaaaa6", name="\x1b[31mred\x07\x7f\u0085", dur=-5,
                     kind="SPAN_KIND_NONSENSE", status={"code": 99}),
                span(t, "bbbbbbbbbbbbbbb1", name="x" * 5000,
                     attributes=[{"key": "url.full", "value": {"stringValue": "u" * 100000}},
                                 {"key": "db.query.text",
                                  "value": {"kvlistValue": {"values": [
                                      {"key": "k", "value": {"arrayValue": {"values": [
                                          {"doubleValue": 1.5}, {"boolValue": True},
                                          {"bytesValue": "AAE="}, {}]}}}]}}}]),
                {"traceId": "zz", "spanId": "1"}, {"spanId": "aaaaaaaaaaaaaaa9"}, 42, None,
                span("0" * 32, "aaaaaaaaaaaaaaa8")]
        path = os.path.join(self.tmp, "hostile.jsonl")
        write(path, [req(spans), req(loop), "", "   ", "[]", "42", '"x"', "null", "{}",
                     '{"resourceSpans":[1,{"scopeSpans":7},{"scopeSpans":[{"spans":{}}]}]}',
                     '{"resourceSpans":[]} trailing', "\xff\xfe garbage",
                     "{" * 100000, '{"a":' * 300 + "1" + "}" * 300])
        r = view(path, "--color=never")
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        out = r.stdout.decode("utf-8")
        err = r.stderr.decode()
        # [] 42 "x" null, trailing text, garbage, too deep twice; blank lines and {} are fine.
        self.assertIn("skipped 8 lines", err)
        self.assertIn("(first: line 5)", err)
        self.assertIn("skipped 5 spans", err)
        self.assertNotIn("\n  d1 ", out)  # the chain is nested, not flat
        for name in ("d0 ", "d2999", "loop1", "loop2", "hangs-off-loop", "self-parent"):
            self.assertIn(name, out)
        self.assertEqual(len(re.findall(r"\bdup\b", out)), 2)
        self.assertIn("loops back to this span", out)
        self.assertIn("?[31mred???", out)
        self.assertNotIn("\x1b", out)
        self.assertIn("[%d]" % (deep - 1), out)  # depth summarised, not drawn
        self.assertRegex(out, r"%s  \(root not in file\)|%s  d0" % (t, t))
        # Every span once in the page too.
        page = os.path.join(self.tmp, "hostile.html")
        r = view(path, "--html", page)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        data = page_data(page)
        self.assertEqual(sum(len(t["spans"]) for t in data["traces"]), deep + 8)


class PageData(html.parser.HTMLParser):
    """The JSON of <script type="application/json" id="trace-data"> and the tags used."""

    def __init__(self):
        super().__init__()
        self.tags = []
        self.scripts = 0
        self.data = None
        self._in = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self.scripts += 1
            self._in = dict(attrs).get("id") == "trace-data"

    def handle_endtag(self, tag):
        if tag == "script":
            self._in = False

    def handle_data(self, data):
        if self._in:
            self.data = (self.data or "") + data


def page_data(path):
    p = PageData()
    with open(path, encoding="utf-8") as f:
        p.feed(f.read())
    return json.loads(p.data)


class Rows(html.parser.HTMLParser):
    """Span rows and the text of #details in a DOM dumped by Chromium."""

    def __init__(self):
        super().__init__()
        self.rows = []  # (span id, classes)
        self.scripts = 0
        self.details = []
        self._depth = 0  # element depth inside #details

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = (a.get("class") or "").split()
        if tag == "script":
            self.scripts += 1
        if "span-row" in cls:
            self.rows.append((a.get("data-span-id"), cls))
        if self._depth:
            self._depth += 1
        elif a.get("id") == "details":
            self._depth = 1

    def handle_endtag(self, tag):
        if self._depth:
            self._depth -= 1

    def handle_data(self, data):
        if self._depth:
            self.details.append(data)


@unittest.skipUnless(TOOL and os.access(TOOL, os.X_OK), "OTELP_TOOL is not set to the built otel-preload")
class TestHtml(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="otelp-view-html-")
        self.page = os.path.join(self.tmp, "traces.html")
        r = view(SAMPLE, "--html", self.page)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"2 traces, 12 spans", r.stdout)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_self_contained_and_escaped(self):
        with open(self.page, encoding="utf-8") as f:
            text = f.read()
        p = PageData()
        p.feed(text)
        self.assertEqual(p.scripts, 2)  # the data and the code: nothing from the file
        self.assertEqual(text.count("</script>"), 2)
        self.assertNotIn("<script>alert", text)
        self.assertNotIn("<!--", text)
        for tag, attrs in p.tags:  # no external asset of any kind
            self.assertNotIn("src", attrs, tag)
            self.assertNotEqual(tag, "link")
            self.assertNotEqual(tag, "iframe")
        # No URL outside the data (the data holds the spans' own url.full values).
        code = re.sub(r'(?s)<script type="application/json" id="trace-data">.*?</script>', "",
                      text)
        m = re.search(r"(?i)url\(|@import|https?:|//[a-z]", code)
        self.assertIsNone(m, m and code[max(0, m.start() - 80):m.end() + 80])
        data = page_data(self.page)
        names = [s["name"] for t in data["traces"] for s in t["spans"]]
        self.assertIn("validate\tinput <script>alert(1)</script>", names)
        self.assertEqual([t["traceId"] for t in data["traces"]], [TRACE_B, TRACE_A])

    def test_html_to_stdout_and_filters(self):
        r = view(SAMPLE, "--html", "-", "--trace", TRACE_B[:6])
        self.assertEqual(r.returncode, 0)
        self.assertTrue(r.stdout.startswith(b"<!DOCTYPE html>"))
        r = view(SAMPLE, "--html", os.path.join(self.tmp, "no", "such", "dir.html"))
        self.assertEqual(r.returncode, 1)

    def chromium(self, *args, url_fragment=""):
        exe = shutil.which("chromium") or shutil.which("chromium-browser")
        home = tempfile.mkdtemp(prefix="chromium-", dir=self.tmp)
        env = dict(os.environ, HOME=home, XDG_CONFIG_HOME=home, XDG_CACHE_HOME=home)
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-dev-shm-usage", "--user-data-dir=" + os.path.join(home, "profile"),
               *args, "file://" + self.page + url_fragment]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                             start_new_session=True)
        try:
            out, err = p.communicate(timeout=120)
        finally:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)  # its own group: the browser's helpers too
                p.wait()
        self.assertEqual(p.returncode, 0, err.decode(errors="replace")[-3000:])
        return out.decode("utf-8")

    def dom(self, fragment):
        rows = Rows()
        rows.feed(self.chromium("--dump-dom", url_fragment=fragment))
        return rows

    @unittest.skipUnless(shutil.which("chromium") or shutil.which("chromium-browser"),
                         "chromium is not installed (CI installs it: apt-get install chromium)")
    def test_chromium(self):
        expected = sample_spans()
        for tid, spans in expected.items():
            with self.subTest(trace=tid):
                d = self.dom("#trace=" + tid)
                self.assertEqual(d.scripts, 2)  # a span named <script> did not add one
                self.assertEqual(sorted(r[0] for r in d.rows), sorted(spans))
                for sid, cls in d.rows:
                    code = spans[sid].get("status", {}).get("code", 0)
                    is_err = code in (2, "STATUS_CODE_ERROR")
                    self.assertEqual("error" in cls, is_err, sid)
                self.assertIn("Click a span", "".join(d.details))

        # The fragment opens a span's details, as a click does.
        d = self.dom("#span=3a9f0c2d4e5b6a71")
        details = "".join(d.details)
        self.assertEqual(sorted(r[0] for r in d.rows), sorted(expected[TRACE_A]))
        self.assertIn("selected", dict(d.rows)["3a9f0c2d4e5b6a71"])
        for text in ("POST /charge", "ERROR: card declined by issuer", "3a9f0c2d4e5b6a71",
                     "e457b5a2e4d86bd1", TRACE_A, "http.response.status_code", "CardDeclined",
                     "exception", "card 4242 declined: insufficient funds", "service.name",
                     "payments", "host.name", "pay-1", "2023-11-14T22:13:20.022000000Z"):
            self.assertIn(text, details)
        d = self.dom("#trace=%s&span=99aabbccddeeff01" % TRACE_B)
        self.assertIn("validate\tinput <script>alert(1)</script>", "".join(d.details))
        self.assertEqual(d.scripts, 2)

        shots = os.environ.get("OTELP_SCREENSHOT_DIR") or os.path.dirname(os.path.abspath(TOOL))
        shot = os.path.join(shots, "view-screenshot.png")
        if os.path.exists(shot):
            os.unlink(shot)
        self.chromium("--screenshot=" + shot, "--window-size=1280,900", "--hide-scrollbars",
                      url_fragment="#span=3a9f0c2d4e5b6a71")
        with open(shot, "rb") as f:
            png = f.read()
        print("\nscreenshot: %s (%d bytes)" % (shot, len(png)), file=sys.stderr)
        self.assertGreater(len(png), 0)
        self.assertEqual(png[:8], b"\x89PNG\r\n\x1a\n")
        self.assertEqual(png[12:16], b"IHDR")
        width, height = struct.unpack(">II", png[16:24])
        print("screenshot size: %dx%d" % (width, height), file=sys.stderr)
        self.assertEqual((width, height), (1280, 900))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, deadline):
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


@unittest.skipUnless(TOOL and os.access(TOOL, os.X_OK), "OTELP_TOOL is not set to the built otel-preload")
class TestEndToEnd(unittest.TestCase):
    @unittest.skipUnless(LIB and os.path.exists(LIB), "OTELP_LIB is not set to libotelpreload.so")
    @unittest.skipUnless(shutil.which("curl"), "curl is not installed")
    def test_curl_and_http_server(self):
        tmp = tempfile.mkdtemp(prefix="otelp-view-e2e-")
        server = None
        try:
            with open(os.path.join(tmp, "hello.txt"), "w") as f:
                f.write("hello\n")
            out = os.path.join(tmp, "spans.jsonl")
            base = dict(os.environ, LD_PRELOAD=LIB, OTEL_TRACES_EXPORTER="file",
                        OTEL_PRELOAD_FILE=out)
            for k in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SDK_DISABLED", "OTEL_TRACES_SAMPLER"):
                base.pop(k, None)
            port = free_port()
            server = subprocess.Popen(
                [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
                cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                env=dict(base, OTEL_SERVICE_NAME="e2e-server"))
            self.assertTrue(wait_port(port, server, time.monotonic() + 30), "server did not start")
            r = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
                                "http://127.0.0.1:%d/hello.txt" % port],
                               capture_output=True, timeout=60,
                               env=dict(base, OTEL_SERVICE_NAME="e2e-client"))
            self.assertEqual(r.stdout, b"200", r.stderr)
            server.send_signal(signal.SIGINT)  # KeyboardInterrupt: a normal exit, spans flushed
            server.wait(timeout=30)
            server = None

            r = view(out, "--color=never")
            self.assertEqual(r.returncode, 0, r.stderr)
            text = r.stdout.decode()
            print("\n" + text, file=sys.stderr)
            blocks = [b for b in text.split("\n\n") if "e2e-client" in b]
            self.assertEqual(len(blocks), 1, text)
            block = blocks[0]
            self.assertIn("2 services", block)
            rows = [l for l in block.splitlines()[2:] if re.search(r"\s(CLIENT|SERVER)\s", l)]
            self.assertEqual(len(rows), 2, block)
            client, srv = rows
            self.assertRegex(client, r"^  GET\s+e2e-client\s+CLIENT\s")
            self.assertRegex(srv, r"^  └─ GET\S*( /\S+)?\s+e2e-server\s+SERVER\s")
            self.assertIn("url.full=http://127.0.0.1:%d/hello.txt" % port, block)
            self.assertIn("url.path=/hello.txt", block)
        finally:
            if server is not None and server.poll() is None:
                server.kill()
                server.wait()
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
