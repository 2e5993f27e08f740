#!/usr/bin/python3
"""The demo's frontend: an HTTP service that asks the backend for orders (urllib). Nothing in
it knows about tracing.

Usage: frontend.py PORT BACKEND_PORT
GET /checkout/ID -> the backend's answer for /orders/ID, wrapped
"""
import http.server
import json
import signal
import sys
import urllib.error
import urllib.request

port, backend = int(sys.argv[1]), int(sys.argv[2])


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        order_id = self.path.rsplit("/", 1)[-1]
        url = "http://127.0.0.1:%d/orders/%s" % (backend, order_id)
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                status, order = r.status, json.load(r)
        except urllib.error.HTTPError as e:
            status, order = e.code, json.load(e)
        body = json.dumps({"checkout": order_id, "order": order}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        pass


signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
