#!/usr/bin/python3
"""The demo's backend: an HTTP service that reads orders from PostgreSQL (psycopg2, which
uses libpq) and caches them in Redis (hiredis, called through ctypes). Nothing in it knows
about tracing.

Usage: backend.py PORT PG_DSN REDIS_PORT
GET /orders/ID  -> JSON of the order (404 when there is none; 500 on a database error)
"""
import ctypes
import http.server
import json
import signal
import sys

import psycopg2

port, dsn, redis_port = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])

hiredis = ctypes.CDLL("libhiredis.so.0.14")
hiredis.redisConnect.restype = ctypes.c_void_p
hiredis.redisConnect.argtypes = [ctypes.c_char_p, ctypes.c_int]
hiredis.redisCommand.restype = ctypes.c_void_p
hiredis.freeReplyObject.argtypes = [ctypes.c_void_p]
hiredis.redisFree.argtypes = [ctypes.c_void_p]


class Reply(ctypes.Structure):
    """The leading fields of hiredis 0.14's redisReply."""
    _fields_ = [("type", ctypes.c_int), ("integer", ctypes.c_longlong),
                ("len", ctypes.c_size_t), ("str", ctypes.c_void_p)]


def redis(*args):
    """One command on a fresh connection; returns the string reply or None."""
    ctx = hiredis.redisConnect(b"127.0.0.1", redis_port)
    fmt = b" ".join([b"%s"] * len(args))
    r = hiredis.redisCommand(ctypes.c_void_p(ctx), fmt, *[a.encode() for a in args])
    value = None
    if r:
        rep = Reply.from_address(r)
        if rep.type == 1:  # REDIS_REPLY_STRING
            value = ctypes.string_at(rep.str, rep.len).decode()
        hiredis.freeReplyObject(ctypes.c_void_p(r))
    hiredis.redisFree(ctypes.c_void_p(ctx))
    return value


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        parts = self.path.strip("/").split("/")
        if len(parts) != 2 or parts[0] != "orders":
            return self.answer(404, {"error": "not found"})
        key = "order:" + parts[1]
        cached = redis("GET", key)
        if cached:
            return self.answer(200, json.loads(cached))
        try:
            with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
                # psycopg2 sends the value inline: the span records it sanitized (?).
                cur.execute("SELECT id, item, quantity FROM orders WHERE id = %s",
                            (parts[1],))
                row = cur.fetchone()
        except psycopg2.Error as e:
            return self.answer(500, {"error": e.pgcode})
        if not row:
            return self.answer(404, {"error": "no such order"})
        order = {"id": row[0], "item": row[1], "quantity": row[2]}
        redis("SET", key, json.dumps(order), "EX", "60")
        self.answer(200, order)

    def answer(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        pass


signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
