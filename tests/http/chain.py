#!/usr/bin/python3
"""Test programs for the HTTP integration tests (tests/preload/test_http.py).

Plain standard-library servers and clients, meant to run under LD_PRELOAD exactly as they
run without it. They print nothing on their own (stdout and stderr stay comparable).

    chain.py backend PORT [HOST]        HTTP/1.1 server (ThreadingHTTPServer), see Backend
    chain.py backend-unix PATH          the same on an AF_UNIX socket
    chain.py frontend PORT BACKEND_PORT HTTP/1.1 server whose handler calls the backend's
                                        GET /data with urllib.request and answers with
                                        "frontend got N bytes\\n" + the backend's body
    chain.py echo PORT                  raw TCP echo server (not HTTP)
    chain.py rawclient PORT HEXFILE     connects to 127.0.0.1:PORT, sends the bytes of HEXFILE
                                        (hex text), shuts down writing, writes what comes
                                        back (raw) to stdout
    chain.py requests PORT SPEC...      HTTP/1.1 client (http.client): every request on one
                                        keep-alive connection to 127.0.0.1:PORT. SPEC is
                                        "METHOD /target", or "N*METHOD /target" for N requests
                                        with {i} in the target replaced by 0..N-1. Prints one
                                        line per answer: METHOD TARGET STATUS LENGTH SHA256

Environment:
    CHAIN_LOG   backend: append one JSON line per request: method, path, version, headers
                ([name, value] as received, duplicates kept), peer_port, body_len, body_sum.
                echo: one JSON line per connection: {"recv": hex}.

Backend routes (any method unless said):
    GET|HEAD /data[?size=N]   deterministic body (data_body(N), default 4096 bytes)
    /status/NNN               answers NNN; 204/304 and 1xx have no body (a 304 carries the
                              Content-Length of the body it would have had)
    GET /chunked              chunked response body (chunked_body()), with an extension
    POST|PUT /echo            the request body back (Content-Length or chunked requests;
                              Expect: 100-continue is answered by BaseHTTPRequestHandler)
    POST /sum                 "fnv1a64=<16 hex> len=<n>\\n" of the request body
    GET /reset-head           half a response head, then a TCP reset (SO_LINGER 0)
    GET /reset-body           a full head announcing 100000 bytes, 1000 of them, then a reset
    GET /healthz /static/* /orders/*  small 200 answers; anything else: 404
"""
import http.server
import json
import os
import socket
import socketserver
import struct
import sys
import threading
import urllib.request

_log_lock = threading.Lock()


def data_body(n=4096):
    """Deterministic bytes: numbered lines, cut to n bytes."""
    out = bytearray()
    i = 0
    while len(out) < n:
        out += b"chain-data line %06d abcdefghijklmnopqrstuvwxyz\n" % i
        i += 1
    return bytes(out[:n])


CHUNKS = [b"a", b"0123456789", data_body(1000), data_body(30000)[::-1], b"end\n"]


def chunked_body():
    """The decoded body of GET /chunked."""
    return b"".join(CHUNKS)


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def log_json(rec):
    path = os.environ.get("CHAIN_LOG")
    if not path:
        return
    line = json.dumps(rec, sort_keys=True) + "\n"
    with _log_lock:
        with open(path, "a") as f:
            f.write(line)


class Backend(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "chain-backend/1"
    sys_version = ""

    def log_message(self, fmt, *args):
        pass

    def version_string(self):
        return self.server_version

    def date_time_string(self, timestamp=None):
        # A fixed date: responses are byte-comparable across runs.
        return "Thu, 01 Jan 2026 00:00:00 GMT"

    def read_body(self):
        te = self.headers.get("Transfer-Encoding", "")
        if "chunked" in te.lower():
            out = bytearray()
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline(65537)
        n = int(self.headers.get("Content-Length", "0") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def record(self, body=b""):
        peer = self.client_address[1] if isinstance(self.client_address, tuple) else None
        log_json({"method": self.command, "path": self.path, "version": self.request_version,
                  "headers": [[k, v] for k, v in self.headers.items()], "peer_port": peer,
                  "body_len": len(body), "body_sum": "%016x" % fnv1a64(body)})

    def answer(self, status, body, ctype="application/octet-stream", length=None, extra=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        if length is not None or (status >= 200 and status != 204):
            self.send_header("Content-Length", str(len(body) if length is None else length))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD" and status not in (204, 304) and status >= 200:
            self.wfile.write(body)

    def rst(self, data):
        """Send data, then abort the connection with a reset."""
        self.connection.sendall(data)
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.rfile.close()  # drops the makefile reference: close() really closes now
        self.connection.close()

    def route(self):
        path, _, query = self.path.partition("?")
        body = b""
        if self.command in ("POST", "PUT", "PATCH"):
            body = self.read_body()
        self.record(body)
        if path == "/data" and self.command in ("GET", "HEAD"):
            size = 4096
            for kv in query.split("&"):
                if kv.startswith("size="):
                    size = int(kv[5:])
            return self.answer(200, data_body(size))
        if path.startswith("/status/"):
            code = int(path[len("/status/"):])
            if code == 304:
                return self.answer(304, b"", length=5)
            return self.answer(code, b"status %d\n" % code, "text/plain")
        if path == "/chunked" and self.command == "GET":
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i, c in enumerate(CHUNKS):
                ext = b";ext=%d" % i if i % 2 else b""
                self.wfile.write(b"%x%s\r\n%s\r\n" % (len(c), ext, c))
            self.wfile.write(b"0\r\n\r\n")
            return None
        if path == "/echo" and self.command in ("POST", "PUT"):
            return self.answer(200, body)
        if path == "/sum" and self.command == "POST":
            return self.answer(200, b"fnv1a64=%016x len=%d\n" % (fnv1a64(body), len(body)),
                               "text/plain")
        if path == "/reset-head":
            return self.rst(b"HTTP/1.1 200 OK\r\nContent-Type: text/pl")
        if path == "/reset-body":
            return self.rst(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"
                            + data_body(1000))
        if path == "/healthz":
            return self.answer(200, b"ok\n", "text/plain")
        if path.startswith("/static/"):
            return self.answer(200, b"static\n", "text/plain")
        if path.startswith("/orders/"):
            return self.answer(200, b"order\n", "text/plain")
        return self.answer(404, b"not found\n", "text/plain")

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = route


class Frontend(Backend):
    server_version = "chain-frontend/1"
    backend_port = None

    def route(self):
        self.record()
        url = "http://127.0.0.1:%d/data" % self.backend_port
        try:
            with urllib.request.urlopen(url, timeout=30) as r:
                data = r.read()
        except Exception as e:  # the test sees the 502 and the status code
            return self.answer(502, ("backend failed: %s\n" % type(e).__name__).encode(),
                               "text/plain")
        return self.answer(200, b"frontend got %d bytes\n" % len(data) + data)

    do_GET = do_HEAD = do_POST = route


class TCPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # resets and bad clients are what the tests provoke


class TCP6Server(TCPServer):
    address_family = socket.AF_INET6


class UnixServer(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        got = bytearray()
        while True:
            b = self.request.recv(65536)
            if not b:
                break
            got += b
            self.request.sendall(b)
        log_json({"recv": bytes(got).hex()})


class EchoServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def rawclient(port, hexfile):
    with open(hexfile) as f:
        payload = bytes.fromhex(f.read().strip())
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(payload)
    s.shutdown(socket.SHUT_WR)
    out = bytearray()
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
    s.close()
    sys.stdout.buffer.write(out)
    sys.stdout.flush()


def requests(port, specs):
    import hashlib
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for spec in specs:
        n = 1
        if "*" in spec.split(" ", 1)[0]:
            count, spec = spec.split("*", 1)
            n = int(count)
        method, target = spec.split(" ", 1)
        for i in range(n):
            t = target.replace("{i}", str(i))
            conn.request(method, t)
            r = conn.getresponse()
            body = r.read()
            sys.stdout.write("%s %s %d %d %s\n" % (method, t, r.status, len(body),
                                                    hashlib.sha256(body).hexdigest()))
    conn.close()
    sys.stdout.flush()


def main(argv):
    mode = argv[1] if len(argv) > 1 else ""
    if mode == "backend":
        host = argv[3] if len(argv) > 3 else "127.0.0.1"
        cls = TCP6Server if ":" in host else TCPServer
        srv = cls((host, int(argv[2])), Backend)
    elif mode == "backend-unix":
        srv = UnixServer(argv[2], Backend)
    elif mode == "frontend":
        Frontend.backend_port = int(argv[3])
        srv = TCPServer(("127.0.0.1", int(argv[2])), Frontend)
    elif mode == "echo":
        srv = EchoServer(("127.0.0.1", int(argv[2])), Echo)
    elif mode == "requests":
        requests(int(argv[2]), argv[3:])
        return 0
    elif mode == "rawclient":
        rawclient(int(argv[2]), argv[3])
        return 0
    else:
        sys.stderr.write(__doc__)
        return 2
    srv.serve_forever(poll_interval=0.05)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
