#!/usr/bin/python3
"""An HTTP server whose handler calls hiredis through ctypes, for test_hiredis.py.

Usage: ctypes_server.py HTTP_PORT REDIS_PORT [LIBRARY]

Listens on 127.0.0.1:HTTP_PORT (ThreadingHTTPServer: each request on its own thread).
GET /get/KEY connects to Redis on 127.0.0.1:REDIS_PORT with redisConnect, runs
redisCommand(ctx, "GET %s", KEY), answers 200 with the value (404 when nil), then
freeReplyObject and redisFree. Python is not linked with hiredis: ctypes loads it with
dlopen (LIBRARY, default libhiredis.so.0.14) and calls the pointers dlsym gives.
"""
import ctypes
import http.server
import signal
import sys
import threading

REDIS_REPLY_STRING = 1
REDIS_REPLY_NIL = 4


class Reply(ctypes.Structure):
    """hiredis 0.14 redisReply (the leading fields)."""
    _fields_ = [("type", ctypes.c_int),
                ("integer", ctypes.c_longlong),
                ("len", ctypes.c_size_t),
                ("str", ctypes.c_void_p),
                ("elements", ctypes.c_size_t),
                ("element", ctypes.c_void_p)]


class Context(ctypes.Structure):
    """hiredis 0.14 redisContext (the leading fields)."""
    _fields_ = [("err", ctypes.c_int),
                ("errstr", ctypes.c_char * 128)]


def load(name):
    lib = ctypes.CDLL(name)
    lib.redisConnect.restype = ctypes.c_void_p
    lib.redisConnect.argtypes = [ctypes.c_char_p, ctypes.c_int]
    # Variadic: the fixed arguments and the one "%s" argument, all pointers.
    lib.redisCommand.restype = ctypes.c_void_p
    lib.redisCommand.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p]
    lib.freeReplyObject.restype = None
    lib.freeReplyObject.argtypes = [ctypes.c_void_p]
    lib.redisFree.restype = None
    lib.redisFree.argtypes = [ctypes.c_void_p]
    return lib


def main():
    http_port, redis_port = int(sys.argv[1]), int(sys.argv[2])
    lib = load(sys.argv[3] if len(sys.argv) > 3 else "libhiredis.so.0.14")

    def redis_get(key):
        ctx = lib.redisConnect(b"127.0.0.1", redis_port)
        if not ctx:
            raise RuntimeError("redisConnect: out of memory")
        try:
            c = Context.from_address(ctx)
            if c.err:
                raise RuntimeError("redisConnect: " + c.errstr.decode())
            r = lib.redisCommand(ctx, b"GET %s", key)
            if not r:
                raise RuntimeError("redisCommand: " + c.errstr.decode())
            try:
                rep = Reply.from_address(r)
                if rep.type == REDIS_REPLY_NIL:
                    return None
                if rep.type != REDIS_REPLY_STRING:
                    raise RuntimeError("reply type %d" % rep.type)
                return ctypes.string_at(rep.str, rep.len)
            finally:
                lib.freeReplyObject(r)
        finally:
            lib.redisFree(ctx)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            if not self.path.startswith("/get/"):
                self.answer(404, b"not here\n")
                return
            try:
                v = redis_get(self.path[5:].encode())
            except RuntimeError as e:
                self.answer(500, ("%s\n" % e).encode())
                return
            if v is None:
                self.answer(404, b"(nil)\n")
            else:
                self.answer(200, v + b"\n")

        def answer(self, status, body):
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", http_port), Handler)
    srv.daemon_threads = True
    # SIGTERM: a normal exit (the preload flushes its spans at exit).
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=srv.shutdown).start())
    try:
        srv.serve_forever(poll_interval=0.05)
    except KeyboardInterrupt:
        pass
    srv.server_close()


if __name__ == "__main__":
    main()
