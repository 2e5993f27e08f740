#!/usr/bin/python3
"""OTLP/HTTP sink for the benchmark scripts (bench-http.sh, bench-pg.sh, bench-redis.sh).

Answers every export with 200 at once and keeps the bodies; GET /stats counts their spans and
forgets them, so that counting costs nothing while a measurement runs. /stats answers JSON:
requests, bytes, spans (by "service.name kind"), spans_total, undecodable, and sink_cpu_s,
the sink's own CPU time (receiving only) since the previous /stats.

Usage: otlp-sink.py PORT_FILE    listens on 127.0.0.1 (a free port), then writes the port
                                 to PORT_FILE (atomically: it appears complete or not at all)
"""
import gzip
import http.server
import json
import os
import resource
import sys
import threading
import zlib

lock = threading.Lock()
cpu_mark = [0.0]
pending = []
totals = {'requests': 0, 'bytes': 0}
KINDS = {0: 'unspecified', 1: 'internal', 2: 'server', 3: 'client', 4: 'producer',
         5: 'consumer'}


def varint(b, i):
    v = shift = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7f) << shift
        if c < 0x80:
            return v, i
        shift += 7


def fields(b, i, end):
    while i < end:
        key, i = varint(b, i)
        wt = key & 7
        if wt == 0:
            v, i = varint(b, i)
        elif wt == 1:
            v, i = None, i + 8
        elif wt == 2:
            n, i = varint(b, i)
            v, i = (i, i + n), i + n
        elif wt == 5:
            v, i = None, i + 4
        else:
            raise ValueError('wire type %d' % wt)
        yield key >> 3, wt, v


def service_name(b, rs, re_):
    for f, wt, v in fields(b, rs, re_):
        if f == 1 and wt == 2:                       # Resource
            for g, wt2, kv in fields(b, *v):
                if g != 1 or wt2 != 2:               # attributes
                    continue
                key = val = None
                for h, wt3, x in fields(b, *kv):
                    if h == 1 and wt3 == 2:
                        key = bytes(b[x[0]:x[1]]).decode('utf-8', 'replace')
                    elif h == 2 and wt3 == 2:         # AnyValue.string_value
                        for k, wt4, y in fields(b, *x):
                            if k == 1 and wt4 == 2:
                                val = bytes(b[y[0]:y[1]]).decode('utf-8', 'replace')
                if key == 'service.name':
                    return val
    return '?'


def count_protobuf(b, out):
    for f, wt, rs in fields(b, 0, len(b)):
        if f != 1 or wt != 2:                         # ResourceSpans
            continue
        svc = out.setdefault(service_name(b, *rs), {})
        for g, wt2, ss in fields(b, *rs):
            if g != 2 or wt2 != 2:                    # ScopeSpans
                continue
            for h, wt3, sp in fields(b, *ss):
                if h != 2 or wt3 != 2:                # Span
                    continue
                kind = 0
                for k, wt4, v in fields(b, *sp):
                    if k == 6 and wt4 == 0:
                        kind = v
                        break
                name = KINDS.get(kind, str(kind))
                svc[name] = svc.get(name, 0) + 1


def count_json(body, out):
    doc = json.loads(body)
    for rs in doc.get('resourceSpans', []):
        svc = '?'
        for a in rs.get('resource', {}).get('attributes', []):
            if a.get('key') == 'service.name':
                svc = a.get('value', {}).get('stringValue', '?')
        d = out.setdefault(svc, {})
        for ss in rs.get('scopeSpans', []):
            for sp in ss.get('spans', []):
                k = sp.get('kind', 0)
                if isinstance(k, str):
                    k = {'SPAN_KIND_' + v.upper(): n for n, v in KINDS.items()}.get(k, 0)
                name = KINDS.get(k, str(k))
                d[name] = d.get(name, 0) + 1


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):
        pass

    def body(self):
        if 'chunked' in (self.headers.get('Transfer-Encoding') or '').lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b';')[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b'\r\n', b'\n', b''):
                        pass
                    return b''.join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get('Content-Length') or 0))

    def answer(self, status, ctype, payload):
        self.send_response(status)
        self.send_header('Content-Type', ctype)
        self.send_header('Content-Length', str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_POST(self):
        body = self.body()
        ctype = (self.headers.get('Content-Type') or '').lower()
        enc = (self.headers.get('Content-Encoding') or '').lower()
        with lock:
            totals['requests'] += 1
            totals['bytes'] += len(body)
            pending.append((ctype, enc, body))
        if 'json' in ctype:
            self.answer(200, 'application/json', b'{}')
        else:
            self.answer(200, 'application/x-protobuf', b'')

    def do_GET(self):
        if self.path != '/stats':
            self.answer(404, 'text/plain', b'not here\n')
            return
        with lock:
            taken = pending[:]
            pending.clear()
            stats = dict(totals)
            totals.update(requests=0, bytes=0)
            ru = resource.getrusage(resource.RUSAGE_SELF)
            stats['sink_cpu_s'] = round(ru.ru_utime + ru.ru_stime - cpu_mark[0], 3)
        spans, errors = {}, 0
        for ctype, enc, body in taken:
            try:
                if enc == 'gzip':
                    body = gzip.decompress(body)
                elif enc == 'deflate':
                    body = zlib.decompress(body)
                if 'json' in ctype:
                    count_json(body, spans)
                else:
                    count_protobuf(memoryview(body), spans)
            except Exception:
                errors += 1
        stats.update(spans=spans, spans_total=sum(sum(d.values()) for d in spans.values()), undecodable=errors)
        ru = resource.getrusage(resource.RUSAGE_SELF)
        cpu_mark[0] = ru.ru_utime + ru.ru_stime  # counting is not charged to the next phase
        self.answer(200, 'application/json', json.dumps(stats).encode())


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


srv = Server(('127.0.0.1', 0), Handler)
with open(sys.argv[1] + '.tmp', 'w') as f:
    f.write(str(srv.server_address[1]))
os.rename(sys.argv[1] + '.tmp', sys.argv[1])
srv.serve_forever()
