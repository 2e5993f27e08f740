"""A small HTTP server for test_libpq.py: GET /item?id=N answers the name of row N of
otelp_items, read through psycopg2 (which links libpq) on a connection opened for the request
(autocommit: one statement per request). The connection comes from the PG* variables.

Usage: /usr/bin/python3 pq_http_server.py PORT   (listens on 127.0.0.1:PORT; SIGTERM stops it)
"""
import http.server
import signal
import sys
import urllib.parse

import psycopg2


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/item":
            self.answer(404, b"not here\n")
            return
        item = int(urllib.parse.parse_qs(url.query)["id"][0])
        conn = psycopg2.connect("")
        try:
            conn.autocommit = True
            cur = conn.cursor()
            cur.execute("SELECT name FROM otelp_items WHERE id = %s", (item,))
            row = cur.fetchone()
        finally:
            conn.close()
        self.answer(200, (row[0] if row else "-").encode() + b"\n")

    def answer(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    srv.daemon_threads = True

    def stop(*_):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        srv.serve_forever(poll_interval=0.05)
    finally:
        srv.server_close()


if __name__ == "__main__":
    main()
