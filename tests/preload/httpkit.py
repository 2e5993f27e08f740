"""Helpers for the HTTP integration tests (test_http.py): environments, processes, nginx,
span lookups.

Environment (as set by tests/preload/meson.build):
    OTELP_LIB            the preload library (required)
    OTELP_ASAN_RUNTIME   the ASan runtime, put first in LD_PRELOAD (ASan builds)
    OTELP_FAULT_LIB      tests/preload/fault.c as a shared library (built here if unset)
    OTELP_STRESS         tests/preload/stress.c as a program (built here if unset)
"""
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
HTTP_DIR = os.path.normpath(os.path.join(HERE, "..", "http"))
CHAIN = os.path.join(HTTP_DIR, "chain.py")
NODE_SERVER = os.path.join(HTTP_DIR, "node-server.js")
NODE_CLIENT = os.path.join(HTTP_DIR, "node-client.js")
PY = "/usr/bin/python3"  # the pyenv python on PATH lacks protobuf; the tests use one python

LIB = os.environ["OTELP_LIB"]
ASAN = os.environ.get("OTELP_ASAN_RUNTIME", "")

SERVER = "SPAN_KIND_SERVER"
CLIENT = "SPAN_KIND_CLIENT"
UNSET = "STATUS_CODE_UNSET"
ERROR = "STATUS_CODE_ERROR"

_PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "ftp_proxy")


# ---- environments ----

def preload_value(*more):
    return ":".join(p for p in (ASAN, LIB) + tuple(more) if p)


def base_env(extra=None, preload=True, more_preload=()):
    """The test's environment without OTEL_* and proxies, LD_PRELOAD set (or not)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("OTEL") and k.lower() not in _PROXY_VARS}
    env.pop("LD_PRELOAD", None)
    if ASAN:
        env["ASAN_OPTIONS"] = "detect_leaks=0:verify_asan_link_order=0"
    if preload:
        env["LD_PRELOAD"] = preload_value(*more_preload)
    elif more_preload:
        env["LD_PRELOAD"] = ":".join(p for p in (ASAN,) + tuple(more_preload) if p)
    env["OTEL_BSP_SCHEDULE_DELAY"] = "100"
    env["OTEL_PRELOAD_TEST_BACKOFF_SCALE"] = "0.01"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if extra:
        env.update(extra)
    return env


def have(program):
    return shutil.which(program) is not None


def node_program():
    return shutil.which("node") or shutil.which("nodejs")


# ---- built helpers (fault library, stress program) ----

_built = {}


def _build(kind):
    """Path of the fault library or the stress program: from the environment, else gcc."""
    var = {"fault": "OTELP_FAULT_LIB", "stress": "OTELP_STRESS"}[kind]
    if os.environ.get(var):
        return os.environ[var]
    if kind in _built:
        return _built[kind]
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        raise unittest.SkipTest("%s unset and no C compiler to build it" % var)
    d = tempfile.mkdtemp(prefix="otelp-httpkit-")
    import atexit
    atexit.register(shutil.rmtree, d, True)
    flags = ["-std=gnu11", "-O2", "-g", "-Wall", "-Wextra", "-D_GNU_SOURCE"]
    if kind == "fault":
        out = os.path.join(d, "libfault.so")
        cmd = [cc] + flags + ["-shared", "-fPIC", os.path.join(HERE, "fault.c"), "-o", out,
                              "-ldl"]
    else:
        out = os.path.join(d, "stress")
        cmd = [cc] + flags + ["-pthread", os.path.join(HERE, "stress.c"), "-o", out]
    subprocess.run(cmd, check=True)
    _built[kind] = out
    return out


def fault_lib():
    return _build("fault")


def stress_program():
    return _build("stress")


# ---- ports and readiness ----

def free_port(host="127.0.0.1"):
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((host, 0))
        return s.getsockname()[1]
    finally:
        s.close()


def ipv6_available():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        try:
            s.bind(("::1", 0))
            return True
        finally:
            s.close()
    except OSError:
        return False


def _connect_once(addr):
    if isinstance(addr, str):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    else:
        s = socket.socket(socket.AF_INET6 if ":" in addr[0] else socket.AF_INET,
                          socket.SOCK_STREAM)
    s.settimeout(1.0)
    try:
        s.connect(addr)
        return True
    except OSError:
        return False
    finally:
        s.close()


class Proc:
    """A program started in the background, its output in files, stopped by its PID."""

    def __init__(self, args, env, workdir, name, cwd=None):
        self.args = list(args)
        self.name = name
        self.out_path = os.path.join(workdir, "%s.%d.out" % (name, id(self)))
        self.err_path = os.path.join(workdir, "%s.%d.err" % (name, id(self)))
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.popen = subprocess.Popen(self.args, env=env, cwd=cwd, stdout=out, stderr=err,
                                          stdin=subprocess.DEVNULL)
        self.pid = self.popen.pid
        self.returncode = None

    def alive(self):
        return self.popen.poll() is None

    def stdout(self):
        with open(self.out_path, "rb") as f:
            return f.read()

    def stderr(self):
        with open(self.err_path, "rb") as f:
            return f.read()

    def wait_ready(self, addr, timeout=20.0):
        """Poll connect() on addr ((host, port) or a Unix socket path) until it answers."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if not self.alive():
                raise RuntimeError("%s exited with %s before listening: %r"
                                   % (self.name, self.popen.returncode, self.stderr()[-2000:]))
            if _connect_once(addr):
                return self
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("%s not listening on %r after %.0f s: %r"
                           % (self.name, addr, timeout, self.stderr()[-2000:]))

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        """Signal the process by its PID, wait, SIGKILL if it lingers. Returns the status."""
        if self.popen.poll() is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.popen.wait(5)
        self.returncode = self.popen.returncode
        return self.returncode


# ---- nginx ----

class Nginx:
    """nginx with a master and one worker in the foreground, everything in a temporary prefix.

    Locations: /static/ (files under root/static, sendfile on), and with a backend port:
    /api/ -> proxy_pass http://127.0.0.1:BACKEND/ (HTTP/1.0, a connection per request) and
    /ka/ -> an upstream with keepalive (HTTP/1.1, Host 127.0.0.1:BACKEND).
    No `env` directive: nginx clears its workers' environment; the preload reads its
    configuration when it loads in the master, and the workers are forks of it.
    """

    def __init__(self, workdir, port, root, backend_port=None):
        self.prefix = os.path.join(workdir, "nginx-%d" % port)
        self.port = port
        self.root = root
        self.backend_port = backend_port
        self.proc = None
        os.makedirs(os.path.join(self.prefix, "logs"), exist_ok=True)
        self.conf = os.path.join(self.prefix, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(self.config())

    def config(self):
        p = self.prefix
        user = ""
        if os.geteuid() == 0:
            # Workers drop to nobody, as in production: the tree must be readable.
            group = "nogroup"
            try:
                import grp
                grp.getgrnam(group)
            except KeyError:
                group = "nobody"
            user = "user nobody %s;" % group
            for d in (p, self.root):
                for dirpath, dirs, files in os.walk(d):
                    os.chmod(dirpath, 0o755)
                    for fn in files:
                        os.chmod(os.path.join(dirpath, fn), 0o644)
            d = os.path.dirname(p)
            while d and d != "/":
                mode = os.stat(d).st_mode
                if mode & 0o055 != 0o055:  # our temporary directory (mkdtemp makes it 0700)
                    os.chmod(d, mode | 0o055)
                d = os.path.dirname(d)
        backend = ""
        locations = ""
        if self.backend_port:
            bp = self.backend_port
            backend = "upstream backend_ka { server 127.0.0.1:%d; keepalive 4; }" % bp
            locations = """
        location /api/ { proxy_pass http://127.0.0.1:%d/; }
        location /ka/ {
            proxy_pass http://backend_ka/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host "127.0.0.1:%d";
        }""" % (bp, bp)
        return """%(user)s
master_process on;
daemon off;
worker_processes 1;
pid %(p)s/nginx.pid;
error_log %(p)s/logs/error.log notice;
events { worker_connections 256; }
http {
    access_log %(p)s/logs/access.log;
    client_body_temp_path %(p)s/client_body;
    proxy_temp_path %(p)s/proxy;
    fastcgi_temp_path %(p)s/fastcgi;
    uwsgi_temp_path %(p)s/uwsgi;
    scgi_temp_path %(p)s/scgi;
    types { text/plain txt; application/octet-stream bin; text/html html; }
    default_type application/octet-stream;
    sendfile on;
    keepalive_timeout 30;
    keepalive_requests 10000;
    %(backend)s
    server {
        listen 127.0.0.1:%(port)d;
        server_name localhost;
        location /static/ { root %(root)s; }%(locations)s
    }
}
""" % {"user": user, "p": p, "port": self.port, "root": self.root, "backend": backend,
       "locations": locations}

    def start(self, env, workdir):
        args = [shutil.which("nginx"), "-p", self.prefix, "-c", self.conf,
                "-e", os.path.join(self.prefix, "logs", "error.log")]
        self.proc = Proc(args, env, workdir, "nginx")
        self.proc.wait_ready(("127.0.0.1", self.port))
        return self.proc

    def workers(self):
        """PIDs of the master's children."""
        out = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % d) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[1]) == self.proc.pid:
                out.append(int(d))
        return out

    def stop(self):
        """Graceful stop (SIGQUIT): the master waits for its worker, both exit() (the preload
        flushes). Returns (master status, [workers that had to be killed])."""
        if not self.proc:
            return None, []
        workers = self.workers()
        rc = self.proc.stop(signal.SIGQUIT, timeout=10)
        killed = []
        end = time.monotonic() + 5
        for w in workers:
            while _running(w) and time.monotonic() < end:
                time.sleep(0.02)
            if _running(w):
                os.kill(w, signal.SIGKILL)
                killed.append(w)
        self.proc = None
        return rc, killed

    def error_log(self):
        try:
            with open(os.path.join(self.prefix, "logs", "error.log"), "rb") as f:
                return f.read()
        except OSError:
            return b""


def _running(pid):
    """pid exists and is not a zombie (an orphan may never be reaped here)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


# ---- raw exchanges ----

def raw_exchange(addr, payload, timeout=5.0, shut=True):
    """Send payload on a fresh connection, read until EOF (or timeout); the bytes, and how
    the stream ended ("eof", "reset" or "timeout")."""
    fam = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(addr)
    out = bytearray()
    end = "eof"
    try:
        s.sendall(payload)
        if shut:
            s.shutdown(socket.SHUT_WR)
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except ConnectionResetError:
        end = "reset"
    except BrokenPipeError:
        end = "reset"
    except socket.timeout:
        end = "timeout"
    finally:
        s.close()
    return bytes(out), end


_DATE = re.compile(rb"(?im)^(date|last-modified|etag):[^\r\n]*")


def normalize(resp):
    """Response bytes with the time-dependent header values blanked."""
    return _DATE.sub(lambda m: m.group(1) + b": -", resp)


def sha(b):
    return hashlib.sha256(b).hexdigest()


# ---- spans ----

def service(span):
    return span.get("resource", {}).get("service.name")


def select(spans, kind=None, svc=None, name=None):
    return [s for s in spans
            if (kind is None or s.get("kind") == kind)
            and (svc is None or service(s) == svc)
            and (name is None or s.get("name") == name)]


def status_code(span):
    return span.get("status", {}).get("code", UNSET)


def traceparent(span):
    """The traceparent a span propagates: its W3C trace-flags are the low byte of OTLP flags."""
    flags = int(span.get("flags", 1)) & 0xFF
    return "00-%s-%s-%02x" % (span["traceId"], span["spanId"], flags)


def parent(span):
    return span.get("parentSpanId") or ""


def chain_problems(chain):
    """Why chain (spans, root first) is not one trace with each span the parent of the
    next; [] when it is."""
    out = []
    if parent(chain[0]):
        out.append("%s %s has a parent %s" % (service(chain[0]), chain[0]["kind"],
                                              parent(chain[0])))
    for a, b in zip(chain, chain[1:]):
        if b["traceId"] != a["traceId"]:
            out.append("%s/%s trace %s != %s/%s trace %s" % (
                service(b), b["kind"], b["traceId"], service(a), a["kind"], a["traceId"]))
        if parent(b) != a["spanId"]:
            out.append("%s/%s parent %s != %s/%s span %s" % (
                service(b), b["kind"], parent(b), service(a), a["kind"], a["spanId"]))
    return out


def header_values(headers, name):
    """Values of header name (any case) in a list of [name, value] pairs."""
    return [v for k, v in headers if k.lower() == name.lower()]


def read_log(path):
    import json
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]
