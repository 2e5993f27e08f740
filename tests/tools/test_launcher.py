#!/usr/bin/python3
"""Tests of the otel-preload launcher and of `otel-preload doctor`.

Run by `meson test` (suite 'tools'), or by hand:
    OTELP_TOOL=build/tools/otel-preload OTELP_LIB=build/hooks/libotelpreload.so \\
        OTELP_PROTO_PY=build/proto /usr/bin/python3 tests/tools/test_launcher.py [-k pattern]

OTELP_TOOL is the launcher, OTELP_LIB the library it must find (next to it in the build tree),
OTELP_PROTO_PY the generated protobuf modules that the OTLP receiver (tests/preload/receiver.py)
decodes with.

The launcher is checked from the outside: the options must show up in the environment of the
program it runs (/usr/bin/env or sh prints it), exit statuses and stdout must be the program's,
spans must reach the file of the embedded default or an OTLP receiver. The doctor is run on
programs built here (static, Go-like, set-user-ID, linked with libpq or hiredis), on hand-made
ELF files (32-bit, big-endian, musl, truncated) and on system programs when they exist.
"""
import json
import os
import random
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.normpath(os.path.join(HERE, "..", "preload")))

TOOL = os.path.abspath(os.environ.get("OTELP_TOOL", "build/tools/otel-preload"))
LIB = os.path.realpath(os.environ.get("OTELP_LIB", "build/hooks/libotelpreload.so"))
PY = "/usr/bin/python3"

with open(LIB, "rb") as _f:
    _LIB_BYTES = _f.read()
# An ASan build of the library cannot be preloaded into programs that are not built with ASan
# (every program used here): those tests are skipped.
ASAN = b"libasan.so" in _LIB_BYTES
# The file exporter (OTEL_TRACES_EXPORTER=file, OTEL_PRELOAD_FILE) is in this library.
FILE_EXPORTER = b"OTEL_PRELOAD_FILE" in _LIB_BYTES

needs_preload = unittest.skipIf(ASAN, "programs not built with ASan cannot run with an ASan "
                                "build of the library preloaded")


def have(prog):
    return shutil.which(prog) is not None


def base_env(**extra):
    """The test's environment without OTEL_*, LD_PRELOAD, XDG_RUNTIME_DIR and proxies."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("OTEL") and k not in ("LD_PRELOAD", "XDG_RUNTIME_DIR")
           and k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra)
    return env


def run(args, env=None, cwd=None, timeout=60, input=None):
    return subprocess.run([TOOL] + list(args), env=env if env is not None else base_env(),
                          cwd=cwd, capture_output=True, timeout=timeout, input=input)


def child_env(args, env=None, cwd=None):
    """The environment the launched program sees (through /usr/bin/env)."""
    p = run(list(args) + ["--", "/usr/bin/env", "-0"], env=env, cwd=cwd)
    if p.returncode != 0:
        raise AssertionError("exit %d: %s" % (p.returncode, p.stderr.decode(errors="replace")))
    out = {}
    for item in p.stdout.split(b"\0"):
        if b"=" in item:
            k, v = item.split(b"=", 1)
            out[k.decode()] = v.decode()
    return out


def children(pid):
    """The PIDs of pid's children (for clean-ups and diagnostics)."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(d))
    return out


def proc_state(pid):
    """State, signal masks and wait channel of a process, for failure messages."""
    try:
        with open("/proc/%d/status" % pid) as f:
            lines = [ln.strip() for ln in f if ln.split(":")[0] in
                     ("Name", "State", "SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt")]
        with open("/proc/%d/wchan" % pid) as f:
            lines.append("wchan: " + f.read())
        return "pid %d: %s" % (pid, "; ".join(lines))
    except OSError as e:
        return "pid %d: %s" % (pid, e)


def free_port():
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


class HttpServer:
    """python3 -m http.server on 127.0.0.1 serving a directory; stopped by PID."""

    def __init__(self, directory):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [PY, "-m", "http.server", str(self.port), "--bind", "127.0.0.1",
             "--directory", directory], env=base_env(), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise RuntimeError("http.server did not start")
                time.sleep(0.05)

    def url(self, path="/"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


class TmpDir(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="otelp-launcher-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def write(self, name, data, mode=0o755):
        p = self.path(name)
        with open(p, "wb" if isinstance(data, bytes) else "w") as f:
            f.write(data)
        os.chmod(p, mode)
        return p


# ---- the command line ----

class CommandLine(TmpDir):
    def test_help_and_version(self):
        p = run(["--help"])
        self.assertEqual(p.returncode, 0)
        self.assertIn(b"Usage: otel-preload", p.stdout)
        self.assertIn(b"--service-name", p.stdout)
        p = run(["--version"])
        self.assertEqual(p.returncode, 0)
        self.assertRegex(p.stdout, rb"^otel-preload \d+\.\d+\.\d+\n$")

    def test_usage_errors_exit_2(self):
        cases = [
            [],
            ["--bogus", "--", "true"],
            ["--bogus=1", "true"],
            ["-x", "true"],
            ["--service-name"],
            ["--service-name", "x"],
            ["--service-name", "x", "--"],
            ["--protocol", "grpc", "--", "true"],
            ["--protocol=http/xml", "true"],
            ["--exporter", "zipkin", "--", "true"],
            ["--file", "x.jsonl", "--exporter", "otlp", "--", "true"],
            ["--no-view=yes", "true"],
        ]
        for args in cases:
            with self.subTest(args=args):
                p = run(args)
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertEqual(p.stdout, b"")
                self.assertIn(b"otel-preload: ", p.stderr)

    def test_unknown_option_after_program_is_the_program_s(self):
        # Everything after PROGRAM belongs to it, options included.
        if ASAN:
            self.skipTest("runs sh under the preload")
        p = run(["--exporter", "none", "sh", "-c", "echo \"$0 $1\"", "--bogus", "--x"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, b"--bogus --x\n")

    def test_library_not_found_exits_127(self):
        env = base_env(OTEL_PRELOAD_LIBRARY=self.path("nope.so"))
        p = run(["--exporter", "none", "--", "true"], env=env)
        self.assertEqual(p.returncode, 127)
        self.assertIn(b"OTEL_PRELOAD_LIBRARY", p.stderr)
        self.assertEqual(p.stdout, b"")

    @needs_preload
    def test_command_not_found_127_not_executable_126(self):
        noexec = self.write("noexec", "#!/bin/sh\necho hi\n", mode=0o644)
        for mode in (["--exporter", "none"], []):  # exec, then fork + wait
            with self.subTest(mode=mode):
                p = run(mode + ["--", "otelp-no-such-command"], cwd=self.tmp)
                self.assertEqual(p.returncode, 127)
                self.assertIn(b"otelp-no-such-command: command not found", p.stderr)
                p = run(mode + ["--", self.path("missing")], cwd=self.tmp)
                self.assertEqual(p.returncode, 127)
                p = run(mode + ["--", noexec], cwd=self.tmp)
                self.assertEqual(p.returncode, 126)
                self.assertIn(b"Permission denied", p.stderr)
                self.assertEqual(p.stdout, b"")
        # The fork path removes the file it created for the spans of a program never run.
        self.assertEqual([f for f in os.listdir(self.tmp) if f.endswith(".jsonl")], [])


# ---- the environment of the program ----

@needs_preload
class Environment(TmpDir):
    def test_options_set_variables(self):
        opts = {
            "service-name": ("OTEL_SERVICE_NAME", "checkout svc"),
            "endpoint": ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9/base"),
            "protocol": ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            "sampler": ("OTEL_TRACES_SAMPLER", "traceidratio"),
            "sampler-arg": ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
            "enable": ("OTEL_PRELOAD_ENABLED_INSTRUMENTATIONS", "http,libpq"),
            "disable": ("OTEL_PRELOAD_DISABLED_INSTRUMENTATIONS", "hiredis"),
            "exporter": ("OTEL_TRACES_EXPORTER", "none"),
        }
        for style in ("separate", "equals"):
            with self.subTest(style=style):
                args = []
                for name, (_, value) in opts.items():
                    args += (["--" + name, value] if style == "separate"
                             else ["--%s=%s" % (name, value)])
                env = child_env(args)
                for name, (var, value) in opts.items():
                    self.assertEqual(env.get(var), value, name)

    def test_value_with_equals_and_dashes(self):
        env = child_env(["--service-name=a=b", "--exporter", "none"])
        self.assertEqual(env["OTEL_SERVICE_NAME"], "a=b")
        env = child_env(["--service-name", "--not-an-option", "--exporter=none"])
        self.assertEqual(env["OTEL_SERVICE_NAME"], "--not-an-option")

    def test_last_occurrence_wins(self):
        env = child_env(["--service-name", "a", "--service-name=b", "--exporter", "none"])
        self.assertEqual(env["OTEL_SERVICE_NAME"], "b")

    def test_program_without_double_dash(self):
        p = run(["--exporter", "none", "--service-name", "s", "sh", "-c",
                 "echo $OTEL_SERVICE_NAME"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, b"s\n")

    def test_library_found_in_build_tree_and_first_in_ld_preload(self):
        env = child_env(["--exporter", "none"])
        self.assertEqual(env["LD_PRELOAD"], LIB)
        self.assertTrue(os.path.isabs(env["LD_PRELOAD"]))

    def test_existing_ld_preload_kept_after_ours(self):
        other = self.path("libother.so")
        shutil.copy(LIB, other)  # any loadable library will do
        env = child_env(["--exporter", "none"], env=base_env(LD_PRELOAD=other))
        self.assertEqual(env["LD_PRELOAD"], LIB + ":" + other)

    def test_sanitizer_runtime_stays_first(self):
        # A sanitizer runtime must be the first object loaded: ours goes after it. The name
        # is what matters; a missing file only makes the loader print a warning.
        asan = self.path("libasan.so.8")
        env = child_env(["--exporter", "none"], env=base_env(LD_PRELOAD=asan))
        self.assertEqual(env["LD_PRELOAD"], asan + ":" + LIB)

    def test_not_added_twice(self):
        env = child_env(["--exporter", "none"], env=base_env(LD_PRELOAD=LIB))
        self.assertEqual(env["LD_PRELOAD"], LIB)
        # Another copy of the library is replaced by ours; spaces become colons.
        other = self.path("libother.so")
        shutil.copy(LIB, other)
        os.mkdir(self.path("old"))
        stale = self.path("old/libotelpreload.so")
        shutil.copy(LIB, stale)
        env = child_env(["--exporter", "none"],
                        env=base_env(LD_PRELOAD=" %s %s:" % (stale, other)))
        self.assertEqual(env["LD_PRELOAD"], LIB + ":" + other)

    def test_otel_preload_library_variable(self):
        copy = self.path("libcopy.so")
        shutil.copy(LIB, copy)
        env = child_env(["--exporter", "none"], env=base_env(OTEL_PRELOAD_LIBRARY=copy))
        self.assertEqual(env["LD_PRELOAD"], copy)

    def test_environment_passes_through(self):
        env = child_env(["--exporter", "none"],
                        env=base_env(OTELP_TEST_VAR="x y", OTEL_RESOURCE_ATTRIBUTES="a=b",
                                     OTEL_SERVICE_NAME="from-env"))
        self.assertEqual(env["OTELP_TEST_VAR"], "x y")
        self.assertEqual(env["OTEL_RESOURCE_ATTRIBUTES"], "a=b")
        self.assertEqual(env["OTEL_SERVICE_NAME"], "from-env")

    def test_endpoint_beats_inherited_traces_endpoint_and_exporter(self):
        env = child_env(["--endpoint", "http://127.0.0.1:9"],
                        env=base_env(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="http://x:1/t",
                                     OTEL_EXPORTER_OTLP_TRACES_PROTOCOL="http/json",
                                     OTEL_TRACES_EXPORTER="console"))
        self.assertEqual(env["OTEL_EXPORTER_OTLP_ENDPOINT"], "http://127.0.0.1:9")
        self.assertNotIn("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", env)
        self.assertEqual(env["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"], "http/json")
        self.assertEqual(env["OTEL_TRACES_EXPORTER"], "otlp")
        self.assertNotIn("OTEL_PRELOAD_FILE", env)

    def test_embedded_default_is_a_file_in_the_current_directory(self):
        env = child_env([], cwd=self.tmp)
        self.assertEqual(env["OTEL_TRACES_EXPORTER"], "file")
        path = env["OTEL_PRELOAD_FILE"]
        self.assertEqual(os.path.dirname(path), os.path.realpath(self.tmp))
        self.assertRegex(os.path.basename(path), r"^otel-preload-\d+(-\d+)?\.jsonl$")

    def test_embedded_default_prefers_xdg_runtime_dir(self):
        xdg = self.path("xdg")
        os.mkdir(xdg, 0o700)
        env = child_env([], cwd=self.tmp, env=base_env(XDG_RUNTIME_DIR=xdg))
        self.assertEqual(os.path.dirname(env["OTEL_PRELOAD_FILE"]), xdg)
        # Not a directory: the current directory.
        env = child_env([], cwd=self.tmp, env=base_env(XDG_RUNTIME_DIR=self.path("nodir")))
        self.assertEqual(os.path.dirname(env["OTEL_PRELOAD_FILE"]), os.path.realpath(self.tmp))

    def test_no_embedded_default_when_an_exporter_is_configured(self):
        for var, value in (("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9"),
                           ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:9/v1/t"),
                           ("OTEL_TRACES_EXPORTER", "none")):
            with self.subTest(var=var):
                env = child_env([], cwd=self.tmp, env=base_env(**{var: value}))
                self.assertNotIn("OTEL_PRELOAD_FILE", env)
                self.assertEqual(env.get("OTEL_TRACES_EXPORTER"),
                                 value if var == "OTEL_TRACES_EXPORTER" else None)
        # A blank value is unset, as for the library.
        env = child_env([], cwd=self.tmp, env=base_env(OTEL_TRACES_EXPORTER=" "))
        self.assertEqual(env["OTEL_TRACES_EXPORTER"], "file")
        self.assertEqual(sorted(f for f in os.listdir(self.tmp) if f.endswith(".jsonl")), [])

    def test_file_option_is_absolute_and_implies_file_exporter(self):
        env = child_env(["--file", "out/spans.jsonl", "--no-view"], cwd=self.tmp)
        self.assertEqual(env["OTEL_TRACES_EXPORTER"], "file")
        self.assertEqual(env["OTEL_PRELOAD_FILE"],
                         os.path.join(os.path.realpath(self.tmp), "out/spans.jsonl"))
        env = child_env(["--exporter=file", "--file=/x/y.jsonl", "--no-view"], cwd=self.tmp)
        self.assertEqual(env["OTEL_PRELOAD_FILE"], "/x/y.jsonl")


# ---- running: status, signals, output ----

@needs_preload
class Running(TmpDir):
    MODES = {"exec": ["--exporter", "none"], "fork": []}

    def test_exit_status_passthrough(self):
        for name, mode in self.MODES.items():
            with self.subTest(mode=name):
                p = run(mode + ["--", "sh", "-c", "exit 7"], cwd=self.tmp)
                self.assertEqual(p.returncode, 7)
                p = run(mode + ["--", "true"], cwd=self.tmp)
                self.assertEqual(p.returncode, 0)

    def test_killed_by_signal(self):
        # Waiting (the embedded default): 128 + the signal, nothing re-raised.
        p = run(["--", "sh", "-c", "kill -TERM $$"], cwd=self.tmp)
        self.assertEqual(p.returncode, 128 + signal.SIGTERM)
        p = run(["--", "sh", "-c", "kill -KILL $$"], cwd=self.tmp)
        self.assertEqual(p.returncode, 128 + signal.SIGKILL)
        # Exec'd: the process itself dies of the signal.
        p = run(["--exporter", "none", "--", "sh", "-c", "kill -TERM $$"], cwd=self.tmp)
        self.assertEqual(p.returncode, -signal.SIGTERM)

    def test_signals_forwarded_to_the_program(self):
        script = ("import signal, sys, time\n"
                  "def h(sig, frame): sys.exit(40 + sig)\n"
                  "for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):\n"
                  "    signal.signal(s, h)\n"
                  "print('ready', flush=True)\n"
                  "time.sleep(60)\n")
        def nohup():
            signal.signal(signal.SIGHUP, signal.SIG_IGN)
        # The last case is `nohup otel-preload ...`: forwarded all the same, the program
        # decides (here it has its own handler).
        for sig, pre in ((signal.SIGTERM, None), (signal.SIGINT, None), (signal.SIGHUP, None),
                         (signal.SIGQUIT, None), (signal.SIGHUP, nohup)):
            with self.subTest(sig=sig, nohup=pre is not None):
                p = subprocess.Popen([TOOL, "--no-view", "--", PY, "-c", script],
                                     env=base_env(), cwd=self.tmp, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, preexec_fn=pre)
                hung = None
                try:
                    self.assertEqual(p.stdout.readline(), b"ready\n")
                    os.kill(p.pid, sig)
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    hung = "\n".join(proc_state(q) for q in [p.pid] + children(p.pid))
                finally:
                    if p.poll() is None:
                        for q in children(p.pid):
                            os.kill(q, signal.SIGKILL)
                        p.kill()
                        p.wait()
                    p.stdout.close()
                    p.stderr.close()
                self.assertIsNone(hung, "no exit after the signal:\n%s" % hung)
                self.assertEqual(p.returncode, 40 + sig)

    def test_terminal_interrupt(self):
        # ^C on a terminal signals the whole foreground process group: the launcher survives
        # it, leaves it to the program (it is not forwarded a second time: not observable
        # here, as standard signals merge) and ends with the program's status.
        import pty
        script = ("import signal, sys, time\n"
                  "signal.signal(signal.SIGINT, lambda *a: sys.exit(41))\n"
                  "print('ready', flush=True)\n"
                  "time.sleep(30)\n")
        env = base_env()
        pid, fd = pty.fork()
        if pid == 0:
            try:
                os.chdir(self.tmp)
                os.execve(TOOL, [TOOL, "--no-view", "--", PY, "-c", script], env)
            finally:
                os._exit(99)
        out = b""
        try:
            deadline = time.monotonic() + 30
            while b"ready" not in out and time.monotonic() < deadline:
                try:
                    out += os.read(fd, 1024)
                except OSError:
                    break
            self.assertIn(b"ready", out)
            os.write(fd, b"\x03")  # the terminal's interrupt character
            while True:
                try:
                    if not os.read(fd, 1024):
                        break
                except OSError:
                    break
            _, status = os.waitpid(pid, 0)
        finally:
            os.close(fd)
        self.assertEqual(os.waitstatus_to_exitcode(status), 41)

    def test_stdout_byte_identical(self):
        cmd = ["sh", "-c", r"printf 'a\nb\000c\377'; echo err >&2; printf tail"]
        ref = subprocess.run(cmd, capture_output=True, env=base_env())
        for name, mode in self.MODES.items():
            with self.subTest(mode=name):
                p = run(mode + ["--"] + cmd, cwd=self.tmp)
                self.assertEqual(p.returncode, 0)
                self.assertEqual(p.stdout, ref.stdout)
                self.assertIn(b"err\n", p.stderr)

    def test_stdin_reaches_the_program(self):
        p = run(["--", "cat"], cwd=self.tmp, input=b"x" * 100000)
        self.assertEqual(p.returncode, 0)
        self.assertEqual(p.stdout, b"x" * 100000)


# ---- spans: the embedded default and OTLP ----

@needs_preload
@unittest.skipUnless(have("curl"), "curl is needed")
class Spans(TmpDir):
    BODY = b"hello from the test server\n"

    def setUp(self):
        super().setUp()
        self.www = self.path("www")
        os.mkdir(self.www)
        with open(os.path.join(self.www, "hello.txt"), "wb") as f:
            f.write(self.BODY)
        self.server = HttpServer(self.www)
        self.cwd = self.path("cwd")
        os.mkdir(self.cwd)

    def tearDown(self):
        self.server.stop()
        super().tearDown()

    def jsonl_files(self):
        return sorted(os.path.join(self.cwd, f) for f in os.listdir(self.cwd)
                      if f.endswith(".jsonl"))

    @unittest.skipUnless(FILE_EXPORTER, "the library has no file exporter yet")
    def test_embedded_default_writes_a_file_and_shows_it(self):
        p = run(["--service-name", "t", "--", "curl", "-s", self.server.url("/hello.txt")],
                cwd=self.cwd)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, self.BODY)  # nothing of ours on stdout
        files = self.jsonl_files()
        self.assertEqual(len(files), 1, p.stderr)
        spans = []
        with open(files[0]) as f:
            for line in f:
                if line.strip():
                    doc = json.loads(line)
                    self.assertIn("resourceSpans", doc)
                    for rs in doc["resourceSpans"]:
                        attrs = {a["key"]: a["value"] for a in rs["resource"]["attributes"]}
                        for ss in rs.get("scopeSpans", []):
                            for s in ss.get("spans", []):
                                spans.append((attrs, s))
        self.assertTrue(spans, "no span in %s" % files[0])
        self.assertEqual(spans[0][0]["service.name"], {"stringValue": "t"})
        err = p.stderr.decode(errors="replace")
        # The last line says where the file is.
        self.assertIn(files[0], err.rstrip("\n").split("\n")[-1])
        # The waterfall is what `otel-preload view FILE` shows.
        view = run(["view", files[0]])
        if view.returncode == 0 and view.stdout.strip():
            self.assertIn(view.stdout.decode(errors="replace").strip(), err)
        else:  # the viewer is not written yet
            self.assertIn("spans saved in", err)

    @unittest.skipUnless(FILE_EXPORTER, "the library has no file exporter yet")
    def test_no_view(self):
        p = run(["--no-view", "--", "curl", "-s", self.server.url("/hello.txt")], cwd=self.cwd)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, self.BODY)
        files = self.jsonl_files()
        self.assertEqual(len(files), 1)
        view = run(["view", files[0]])
        if view.stdout.strip():
            self.assertNotIn(view.stdout.decode(errors="replace").strip(),
                             p.stderr.decode(errors="replace"))
        self.assertIn(files[0].encode(), p.stderr)

    def test_no_spans_no_file(self):
        # With tracing off the file stays empty: it is removed and the run says so.
        p = run(["--", "curl", "-s", self.server.url("/hello.txt")], cwd=self.cwd,
                env=base_env(OTEL_SDK_DISABLED="true"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, self.BODY)
        self.assertEqual(self.jsonl_files(), [])
        self.assertIn(b"no spans were recorded", p.stderr)

    def check_otlp(self, protocol):
        from receiver import Receiver
        with Receiver() as rx:
            args = ["--endpoint", rx.endpoint, "--service-name", "otlp-" + protocol]
            if protocol:
                args += ["--protocol=" + protocol]
            p = run(args + ["--", "curl", "-s", self.server.url("/hello.txt")], cwd=self.cwd)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stdout, self.BODY)
            spans = rx.wait_for_spans(1, timeout=15)
            self.assertEqual(spans[0]["resource"]["service.name"], "otlp-" + protocol)
            self.assertEqual(spans[0]["kind"], "SPAN_KIND_CLIENT")
            self.assertEqual(rx.requests[0]["format"],
                             "json" if protocol == "http/json" else "protobuf")
        self.assertEqual(self.jsonl_files(), [])
        self.assertNotIn(b"spans saved", p.stderr)

    def test_endpoint_sends_over_otlp(self):
        self.check_otlp("")

    def test_endpoint_http_json(self):
        self.check_otlp("http/json")


# ---- doctor ----

def make_elf(cls=64, msb=False, machine=62, interp="/lib64/ld-linux-x86-64.so.2", needed=(),
             etype=3, dynamic=True):
    """A minimal ELF program: one PT_LOAD over the file, PT_INTERP, PT_DYNAMIC, no sections."""
    e = ">" if msb else "<"
    ehsize, phentsize = (64, 56) if cls == 64 else (52, 32)
    base = 0x400000
    strtab = b"\0"
    offs = []
    for n in needed:
        offs.append(len(strtab))
        strtab += n.encode() + b"\0"
    interp_b = interp.encode() + b"\0" if interp else b""
    nph = 1 + (1 if interp else 0) + (1 if dynamic else 0)
    interp_off = ehsize + nph * phentsize
    str_off = interp_off + len(interp_b)
    dyn_off = (str_off + len(strtab) + 7) & ~7
    DT_NEEDED, DT_STRTAB, DT_STRSZ, DT_FLAGS_1, DF_1_PIE = 1, 5, 10, 0x6ffffffb, 0x08000000
    entries = [(DT_NEEDED, o) for o in offs] + [
        (DT_STRTAB, base + str_off), (DT_STRSZ, len(strtab)), (DT_FLAGS_1, DF_1_PIE), (0, 0)]
    dfmt = e + ("qQ" if cls == 64 else "iI")
    dyn = b"".join(struct.pack(dfmt, t, v) for t, v in entries) if dynamic else b""
    total = dyn_off + len(dyn)

    def ph(ptype, off, size, flags=4):
        if cls == 64:
            return struct.pack(e + "IIQQQQQQ", ptype, flags, off, base + off, base + off, size,
                               size, 8)
        return struct.pack(e + "IIIIIIII", ptype, off, base + off, base + off, size, size,
                           flags, 4)
    phdrs = ph(1, 0, total, 5)
    if interp:
        phdrs += ph(3, interp_off, len(interp_b))
    if dynamic:
        phdrs += ph(2, dyn_off, len(dyn), 6)
    ident = b"\x7fELF" + bytes([2 if cls == 64 else 1, 2 if msb else 1, 1, 0]) + bytes(8)
    if cls == 64:
        hdr = ident + struct.pack(e + "HHIQQQIHHHHHH", etype, machine, 1, base, ehsize, 0, 0,
                                  ehsize, phentsize, nph, 64, 0, 0)
    else:
        hdr = ident + struct.pack(e + "HHIIIIIHHHHHH", etype, machine, 1, base, ehsize, 0, 0,
                                  ehsize, phentsize, nph, 40, 0, 0)
    data = hdr + phdrs + interp_b + strtab
    data += bytes(dyn_off - len(data)) + dyn
    assert len(data) == total
    return data


class Doctor(TmpDir):
    C_PROGRAM = '#include <stdio.h>\nint main(void) { puts("hi"); return 0; }\n'

    def doctor(self, program, env=None):
        p = run(["doctor", program], env=env)
        out = p.stdout.decode()
        return p.returncode, out, p.stderr.decode()

    def assert_verdict(self, program, ok, *phrases, env=None):
        rc, out, err = self.doctor(program, env=env)
        self.assertEqual(rc, 0 if ok else 1, out + err)
        first = out.split("\n")[0]
        self.assertTrue(first.startswith("ok: " if ok else "no: "), out)
        for ph in phrases:
            self.assertIn(ph, out)
        return out

    def cc(self, name, source, *flags):
        if not have("cc"):
            self.skipTest("no C compiler")
        src = self.write(name + ".c", source, mode=0o644)
        exe = self.path(name)
        p = subprocess.run(["cc", "-o", exe, src] + list(flags), capture_output=True)
        if p.returncode != 0:
            self.skipTest("cannot build %s: %s" % (name, p.stderr.decode()[-300:]))
        return exe

    def test_dynamic_c_program(self):
        exe = self.cc("dyn", self.C_PROGRAM)
        out = self.assert_verdict(exe, True, "64-bit" if sys.maxsize > 2**32 else "32-bit",
                                  "dynamically linked", "http: HTTP/1.x")
        self.assertEqual(out.split("\n")[0], "ok: %s can be traced" % exe)
        self.assertIn("preloads " + LIB, out)

    def test_static_program(self):
        exe = self.cc("static", self.C_PROGRAM, "-static")
        out = self.assert_verdict(exe, False, "statically linked")
        self.assertEqual(out.split("\n")[0],
                         "no: %s is statically linked; LD_PRELOAD cannot reach it" % exe)

    def test_static_pie_program(self):
        exe = self.cc("spie", self.C_PROGRAM, "-static-pie")
        self.assert_verdict(exe, False, "statically linked", "static-pie")

    def test_go_like_program(self):
        if not have("objcopy"):
            self.skipTest("no objcopy")
        exe = self.cc("dyn", self.C_PROGRAM)
        info = self.write("buildinfo", b"\xff Go buildinf:" + bytes(16), mode=0o644)
        go = self.path("goprog")
        subprocess.run(["objcopy", "--add-section", ".go.buildinfo=" + info, exe, go],
                       check=True)
        out = self.assert_verdict(go, False, "is a Go program", ".go.buildinfo",
                                  "only the calls made through cgo")
        self.assertIn("no: %s is a Go program" % go, out)

    def test_go_runtime_main_symbol(self):
        exe = self.cc("gosym", 'void runtime_main(void) {}\n'
                      'int main(void) { return 0; }\n')
        # Rename the symbol to the dotted Go name (not valid in C).
        go = self.path("gosym2")
        subprocess.run(["objcopy", "--redefine-sym", "runtime_main=runtime.main", exe, go],
                       check=True)
        self.assert_verdict(go, False, "is a Go program", "runtime.main")

    def test_setuid_and_setgid(self):
        exe = self.cc("dyn", self.C_PROGRAM)
        nosuid = bool(os.statvfs(self.tmp).f_flag & os.ST_NOSUID)
        for bit, word in ((stat.S_ISUID, "set-user-ID"), (stat.S_ISGID, "set-group-ID")):
            with self.subTest(word=word):
                copy = self.path("suid-copy")
                shutil.copy(exe, copy)
                os.chmod(copy, 0o755 | bit)
                if nosuid:
                    self.assert_verdict(copy, True, "nosuid")
                else:
                    out = self.assert_verdict(copy, False, "secure-execution mode")
                    self.assertIn("no: %s is %s" % (copy, word), out)

    def test_libpq_and_hiredis_programs(self):
        pq = self.cc("pq", '#include <libpq-fe.h>\nint main(void) { return PQlibVersion() < 0; }\n',
                     "-I/usr/include/postgresql", "-lpq")
        out = self.assert_verdict(pq, True, "libpq: PostgreSQL queries will be traced",
                                  "libpq.so.5")
        self.assertNotIn("hiredis:", out)
        rd = self.cc("rd", '#include <hiredis/hiredis.h>\n'
                     'int main(void) { redisFree(0); return 0; }\n', "-lhiredis")
        self.assert_verdict(rd, True, "hiredis: Redis commands will be traced")
        # Turned off by the environment: a warning, still ok.
        out = self.assert_verdict(pq, True, "warning: libpq:", "DISABLED_INSTRUMENTATIONS",
                                  env=base_env(OTEL_PRELOAD_DISABLED_INSTRUMENTATIONS=" LibPQ"))
        self.assertIn("see the warnings below", out.split("\n")[0])
        out = self.assert_verdict(pq, True, "warning: http:", "ENABLED_INSTRUMENTATIONS",
                                  env=base_env(OTEL_PRELOAD_ENABLED_INSTRUMENTATIONS="libpq"))
        self.assertNotIn("warning: libpq", out)
        self.assert_verdict(pq, True, "OTEL_SDK_DISABLED=true",
                            env=base_env(OTEL_SDK_DISABLED="true"))

    def test_transitive_dependencies(self):
        # A library of ours needing libpq, found through the program's RUNPATH ($ORIGIN).
        if not have("cc"):
            self.skipTest("no C compiler")
        os.mkdir(self.path("lib"))
        src = self.write("dep.c", "#include <libpq-fe.h>\n"
                         "int dep(void) { return PQlibVersion(); }\n")
        subprocess.run(["cc", "-shared", "-fPIC", "-o", self.path("lib/libdep.so"), src,
                        "-I/usr/include/postgresql", "-lpq"], check=True)
        exe = self.cc("uses-dep", "int dep(void);\nint main(void) { return dep() < 0; }\n",
                      "-L" + self.path("lib"), "-ldep", "-Wl,-rpath,$ORIGIN/lib",
                      "-Wl,--enable-new-dtags")
        self.assert_verdict(exe, True, "libpq: PostgreSQL queries will be traced",
                            "needed by libdep.so")

    def test_psql(self):
        if not os.path.exists("/usr/bin/psql"):
            self.skipTest("no /usr/bin/psql")
        out = self.assert_verdict("/usr/bin/psql", True,
                                  "libpq: PostgreSQL queries will be traced")
        self.assertTrue(out.startswith("ok: /usr/bin/psql can be traced"), out)

    def test_curl_tls_note(self):
        if not os.path.exists("/usr/bin/curl"):
            self.skipTest("no /usr/bin/curl")
        self.assert_verdict("/usr/bin/curl", True, "libssl",
                            "HTTPS traffic is encrypted before it reaches the socket")

    def test_found_through_path(self):
        rc, out, _ = self.doctor("sh")
        self.assertEqual(rc, 0, out)
        self.assertRegex(out.split("\n")[0], r"^ok: /\S*/sh can be traced")

    def test_shell_script(self):
        script = self.write("script.sh", "#!/bin/sh\necho hi\n")
        out = self.assert_verdict(script, True, "is a script (#!/bin/sh)")
        self.assertEqual(out.split("\n")[0],
                         "ok: %s can be traced (through its interpreter /bin/sh)" % script)
        env_script = self.write("env.sh", "#!/usr/bin/env -S sh -e\necho hi\n")
        self.assert_verdict(env_script, True, "env finds sh in PATH")
        missing = self.write("missing.sh", "#!/nonexistent/interp\n")
        self.assert_verdict(missing, False, "/nonexistent/interp")
        # A static interpreter: the script cannot be traced either.
        static = self.cc("static", self.C_PROGRAM, "-static")
        via_static = self.write("via-static", "#!%s\n" % static)
        self.assert_verdict(via_static, False, "statically linked")
        plain = self.write("plain", "echo hi\n")
        self.assert_verdict(plain, True, "without a #! line", "/bin/sh")

    def test_interpreter_runtime_note(self):
        out = self.assert_verdict(PY, True, "language runtime", "dlopen")
        self.assertIn("psycopg2", out)

    def test_unreadable_or_missing(self):
        rc, out, err = self.doctor(self.path("nope"))
        self.assertEqual(rc, 2)
        self.assertEqual(out, "")
        self.assertIn("No such file or directory", err)
        rc, out, err = self.doctor("otelp-no-such-command")
        self.assertEqual(rc, 2)
        self.assertIn("not found in PATH", err)
        rc, out, err = self.doctor(self.tmp)
        self.assertEqual(rc, 2)
        for args in ([], ["a", "b"], ["--bogus"]):
            p = run(["doctor"] + args)
            self.assertEqual(p.returncode, 2, args)
        p = run(["doctor", "--help"])
        self.assertEqual(p.returncode, 0)
        self.assertIn(b"Usage: otel-preload doctor", p.stdout)

    def test_not_a_program(self):
        self.assert_verdict(self.write("empty", b""), False, "empty")
        self.assert_verdict(self.write("blob", b"\x00\x01binary"), False, "not a program")
        self.assert_verdict(self.write("bad.elf", b"\x7fELF\x07garbage"), False,
                            "not a valid ELF file")
        obj = self.path("t.o")
        if have("cc"):
            src = self.write("t.c", self.C_PROGRAM, mode=0o644)
            subprocess.run(["cc", "-c", "-o", obj, src], check=True)
            self.assert_verdict(obj, False, "object file")
        lib = "/lib/x86_64-linux-gnu/libz.so.1"
        if os.path.exists(lib):
            self.assert_verdict(lib, False, "shared library")

    def test_hand_made_elf_files(self):
        same = make_elf(needed=["libpq.so.5", "liburing.so.2", "libnotthere.so.9"])
        out = self.assert_verdict(self.write("same", same), True,
                                  "libpq: PostgreSQL queries will be traced (libpq.so.5",
                                  "io_uring", "libnotthere.so.9")
        if os.uname().machine != "x86_64":
            return
        self.assert_verdict(self.write("i386", make_elf(cls=32, machine=3,
                                                        interp="/lib/ld-linux.so.2")),
                            False, "32-bit i386 program", "64-bit x86-64 library")
        self.assert_verdict(self.write("ppc64", make_elf(msb=True, machine=21,
                                                         interp="/lib64/ld64.so.1")),
                            False, "PowerPC64 (big-endian)")
        out = self.assert_verdict(self.write("musl", make_elf(
            interp="/lib/ld-musl-x86_64.so.1")), False, "musl")
        self.assertIn("no: %s uses the musl loader" % self.path("musl"), out)
        self.assert_verdict(self.write("other", make_elf(interp="/system/bin/linker64")),
                            True, "warning: its loader /system/bin/linker64")
        self.assert_verdict(self.write("static-made", make_elf(interp=None, dynamic=False,
                                                               etype=2)),
                            False, "statically linked")

    def test_damaged_files_never_crash(self):
        src = "/bin/ls" if os.path.exists("/bin/ls") else shutil.which("sh")
        with open(src, "rb") as f:
            data = f.read()
        rng = random.Random(1234)
        made = [make_elf(needed=["libpq.so.5"]), make_elf(cls=32, machine=3)]
        variants = [data[:n] for n in (5, 16, 52, 63, 64, 100, 1000, 5000, len(data) // 2)]
        for base in [data] + made:
            for _ in range(15):
                b = bytearray(base)
                for _ in range(rng.randint(1, 40)):
                    i = rng.randrange(0, min(len(b), 4096))
                    b[i] = rng.randrange(256)
                variants.append(bytes(b))
        for i, v in enumerate(variants):
            p = self.write("damaged", v)
            rc, out, err = self.doctor(p)
            self.assertIn(rc, (0, 1), "variant %d: %r %r" % (i, out[-300:], err[-300:]))
            self.assertRegex(out, r"^(ok|no): ")


if __name__ == "__main__":
    unittest.main()
