#!/usr/bin/python3
"""OTLP/HTTP trace receiver for the otelpreload integration tests.

A small collector stand-in on 127.0.0.1. It records every request (method, path, headers,
raw body, decoded body) and answers with a scripted sequence of HTTP statuses, so that tests can
exercise retries, throttling, slow and vanishing collectors.

Protobuf bodies are parsed with the Python modules that protoc generates from our own .proto
files (trace_service_pb2 and friends): Google's decoder is an independent check of what
protobuf-c encodes. The directory holding them comes from the proto_py_dir argument, else the
OTELP_PROTO_PY environment variable (meson generates them into <builddir>/proto/), else, as a
convenience for manual runs, they are generated with protoc into a temporary directory.

In-process use, from a unittest test:

    r = Receiver(script=[503, 503, 200])
    r.start()
    env['OTEL_EXPORTER_OTLP_ENDPOINT'] = r.endpoint
    ... run the host under LD_PRELOAD ...
    spans = r.wait_for_spans(3, timeout=10)
    r.stop()

Script entries (the last one repeats when the script is exhausted; no script = always 200):
    200, 503, ...            the status to answer with
    'close'                  close the connection without answering
    {'status': 429, 'retry_after': '1', 'delay': 0.5, 'close': False,
     'partial_success': (3, 'too old'), 'headers': {'X-Foo': 'bar'}, 'body': b'...'}

Recorded requests (r.requests) are dicts: method, path, headers (a dict with case-insensitive
get/[]/in, keys stored lower-case), header_list (as received), raw (the body as received), body
(gunzipped), format ('protobuf' or 'json'), decoded (MessageToDict of the protobuf request, or
json.loads of a JSON one), error (why the body could not be decoded, else None), status (what
we answered; None: connection closed without an answer), time (time.monotonic()), index.

Normalised spans (r.spans()) are the camelCase dicts of MessageToDict with: ids as lowercase
hex; attributes (span, event, link, resource, scope) flattened to {key: python value}
(intValue -> int, doubleValue -> float, bytesValue -> bytes, arrays -> list, kvlists -> dict);
64-bit timestamps as int; enums by name ('SPAN_KIND_SERVER', 'STATUS_CODE_ERROR', also for
JSON requests, whose integers are mapped); plus 'resource' (the resource attributes), 'scope'
({'name', 'version', 'attributes', 'schemaUrl'}), 'resourceSchemaUrl', 'request_index' (which
request carried the span) and 'accepted' (that request was answered with a 2xx).
r.spans() returns every span received, retried batches included; r.spans(accepted_only=True)
only those the receiver accepted. r.wait_for_spans(n, timeout) waits for n accepted spans
(accepted_only=False: any) and returns them, or raises TimeoutError.

Run as a script for manual use:
    receiver.py --port 4318 --script 503,503,200 --out spans.jsonl
"""

import argparse
import atexit
import base64
import copy
import gzip
import http.server
import importlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zlib

_HERE = os.path.dirname(os.path.abspath(__file__))
_PROTO_SRC = os.path.normpath(os.path.join(_HERE, '..', '..', 'proto'))
_PROTO_NAMES = ('common', 'resource', 'trace', 'trace_service')

# gRPC status codes for the google.rpc.Status error bodies.
_GRPC_CODES = {400: 3, 401: 16, 403: 7, 404: 5, 409: 10, 413: 8, 429: 8, 500: 13, 501: 12,
               502: 14, 503: 14, 504: 4}

_pb_lock = threading.Lock()
_pb_modules = {}  # directory -> trace_service_pb2 module
_pb_tmpdirs = []
atexit.register(lambda: [shutil.rmtree(d, ignore_errors=True) for d in _pb_tmpdirs])


def _generate_pb2():
    protoc = shutil.which('protoc')
    if not protoc or not os.path.isdir(_PROTO_SRC):
        return None
    d = tempfile.mkdtemp(prefix='otelp-pb2-')
    _pb_tmpdirs.append(d)
    files = [os.path.join(_PROTO_SRC, n + '.proto') for n in _PROTO_NAMES]
    subprocess.run([protoc, '--proto_path=' + _PROTO_SRC, '--python_out=' + d] + files,
                   check=True)
    return d


def load_trace_service_pb2(proto_py_dir=None):
    """Import trace_service_pb2 from proto_py_dir / $OTELP_PROTO_PY / a protoc run."""
    with _pb_lock:
        d = proto_py_dir or os.environ.get('OTELP_PROTO_PY')
        if not d:
            if None in _pb_modules:
                return _pb_modules[None]
            d = _generate_pb2()
            if not d:
                raise RuntimeError('receiver: no generated protobuf modules: set OTELP_PROTO_PY '
                                   'to <builddir>/proto or pass proto_py_dir')
            key = None
        else:
            d = os.path.abspath(d)
            key = d
            if key in _pb_modules:
                return _pb_modules[key]
        if not os.path.exists(os.path.join(d, 'trace_service_pb2.py')):
            raise RuntimeError('receiver: %s has no trace_service_pb2.py' % d)
        # The generated modules import each other by plain name ("import trace_pb2").
        if d not in sys.path:
            sys.path.insert(0, d)
        mod = importlib.import_module('trace_service_pb2')
        _pb_modules[key] = mod
        return mod


# ---- normalisation of decoded requests ----

def _b64_to_hex(v):
    return base64.b64decode(v).hex() if v else ''


def _to_int(v):
    return int(v) if v is not None else None


def _to_float(v):
    # proto3 JSON writes NaN and infinities as strings.
    return float(v)


def any_value(v):
    """An OTLP AnyValue dict (camelCase) as a python value."""
    if not v:
        return None
    if 'stringValue' in v:
        return v['stringValue']
    if 'boolValue' in v:
        return bool(v['boolValue'])
    if 'intValue' in v:
        return int(v['intValue'])
    if 'doubleValue' in v:
        return _to_float(v['doubleValue'])
    if 'bytesValue' in v:
        return base64.b64decode(v['bytesValue'])
    if 'arrayValue' in v:
        return [any_value(x) for x in v['arrayValue'].get('values', [])]
    if 'kvlistValue' in v:
        return attributes(v['kvlistValue'].get('values', []))
    return None


def attributes(kvs):
    """[{'key': k, 'value': AnyValue}, ...] -> {k: python value}."""
    return {kv['key']: any_value(kv.get('value')) for kv in kvs or []}


def _norm_id(v, from_protobuf):
    if v is None:
        return None
    return _b64_to_hex(v) if from_protobuf else v.lower()


class Headers(dict):
    """Request headers: keys stored lower-case, lookups case-insensitive."""

    def __init__(self, items=()):
        super().__init__()
        for k, v in items:
            self[k] = v

    def __setitem__(self, k, v):
        super().__setitem__(k.lower(), v)

    def __getitem__(self, k):
        return super().__getitem__(k.lower())

    def __contains__(self, k):
        return super().__contains__(k.lower())

    def get(self, k, default=None):
        return super().get(k.lower(), default)


def _enum_name(enum_type, v):
    """JSON requests carry enums as integers: use the names, as MessageToDict does."""
    if isinstance(v, int) or (isinstance(v, str) and v.lstrip('-').isdigit()):
        try:
            return enum_type.Name(int(v))
        except ValueError:
            return int(v)
    return v


def _norm_span(s, from_protobuf, trace_pb=None):
    s = copy.deepcopy(s)
    for k in ('traceId', 'spanId', 'parentSpanId'):
        if k in s:
            s[k] = _norm_id(s[k], from_protobuf)
    for k in ('startTimeUnixNano', 'endTimeUnixNano'):
        if k in s:
            s[k] = _to_int(s[k])
    if trace_pb is not None:
        if 'kind' in s:
            s['kind'] = _enum_name(trace_pb.Span.SpanKind, s['kind'])
        if 'code' in s.get('status', {}):
            s['status']['code'] = _enum_name(trace_pb.Status.StatusCode, s['status']['code'])
    s['attributes'] = attributes(s.get('attributes'))
    for e in s.get('events', []):
        if 'timeUnixNano' in e:
            e['timeUnixNano'] = _to_int(e['timeUnixNano'])
        e['attributes'] = attributes(e.get('attributes'))
    for link in s.get('links', []):
        for k in ('traceId', 'spanId'):
            if k in link:
                link[k] = _norm_id(link[k], from_protobuf)
        link['attributes'] = attributes(link.get('attributes'))
    return s


def spans_of(decoded, from_protobuf, request_index=None, trace_pb=None):
    """Flat list of normalised spans of one decoded ExportTraceServiceRequest dict.

    trace_pb: the generated trace_pb2 module, to name the enums of JSON requests.
    """
    out = []
    for rs in decoded.get('resourceSpans', []):
        res = attributes(rs.get('resource', {}).get('attributes'))
        for ss in rs.get('scopeSpans', []):
            sc = ss.get('scope', {})
            scope = {'name': sc.get('name', ''), 'version': sc.get('version', ''),
                     'attributes': attributes(sc.get('attributes')),
                     'schemaUrl': ss.get('schemaUrl', '')}
            for s in ss.get('spans', []):
                n = _norm_span(s, from_protobuf, trace_pb)
                n['resource'] = dict(res)
                n['resourceSchemaUrl'] = rs.get('schemaUrl', '')
                n['scope'] = copy.deepcopy(scope)
                n['request_index'] = request_index
                out.append(n)
    return out


# ---- HTTP ----

def _status_body(code, message, json_ct):
    """A google.rpc.Status error body, protobuf (hand-encoded) or JSON."""
    grpc = _GRPC_CODES.get(code, 2)
    if json_ct:
        return json.dumps({'code': grpc, 'message': message}).encode()
    msg = message.encode()
    out = bytearray([0x08])
    out += _varint(grpc)
    out += b'\x12' + _varint(len(msg)) + msg
    return bytes(out)


def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7f
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'otelp-test-receiver/1'

    def setup(self):
        super().setup()
        self.server.receiver._conn_opened(self.connection)

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.receiver._conn_closed(self.connection)

    def log_message(self, fmt, *args):
        if self.server.receiver.verbose:
            sys.stderr.write('receiver: ' + (fmt % args) + '\n')

    def _read_body(self):
        if 'chunked' in self.headers.get('Transfer-Encoding', '').lower():
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b';', 1)[0].strip() or b'0', 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b'\r\n', b'\n', b''):
                        pass
                    return b''.join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
        n = int(self.headers.get('Content-Length', '0') or 0)
        return self.rfile.read(n) if n > 0 else b''

    def do_POST(self):
        self.server.receiver._handle(self, self._read_body())

    def do_PUT(self):
        self.server.receiver._handle(self, self._read_body())

    def do_GET(self):
        self.server.receiver._handle(self, b'')


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() must not wait for a slow (delayed) answer
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # Clients that vanish (timeouts, resets: what the tests provoke) are not errors.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class Receiver:
    """Scripted OTLP/HTTP receiver on 127.0.0.1 (see the module documentation)."""

    def __init__(self, script=None, delay=0, proto_py_dir=None, port=0, retry_after=None,
                 out=None, verbose=False):
        self.script = list(script) if script else [200]
        self.delay = delay
        self.retry_after = retry_after  # default Retry-After for 429/503 answers
        self.port = port
        self.out = out  # path of a JSON-lines file receiving every span
        self.verbose = verbose
        self._pb = load_trace_service_pb2(proto_py_dir)
        self._trace_pb = importlib.import_module('trace_pb2')  # on sys.path now
        from google.protobuf import json_format
        self._json_format = json_format
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._requests = []
        self._spans = []
        self._step = 0
        self._conns = set()
        self._server = None
        self._thread = None

    # -- lifecycle --

    @property
    def endpoint(self):
        return 'http://127.0.0.1:%d' % self.port

    @property
    def traces_url(self):
        return self.endpoint + '/v1/traces'

    def start(self):
        self._server = _Server(('127.0.0.1', self.port), _Handler)
        self._server.receiver = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={'poll_interval': 0.05},
                                        name='otelp-receiver', daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if not self._server:
            return
        self._server.shutdown()
        # Keep-alive connections live in their own threads: cut them too.
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._server.server_close()
        self._thread.join(5)
        self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _conn_opened(self, c):
        with self._lock:
            self._conns.add(c)

    def _conn_closed(self, c):
        with self._lock:
            self._conns.discard(c)

    # -- results --

    @property
    def requests(self):
        """Snapshot of the recorded requests (dicts, see _handle)."""
        with self._lock:
            return list(self._requests)

    def spans(self, accepted_only=False):
        """Spans received so far, normalised (see the module documentation)."""
        with self._lock:
            return copy.deepcopy(self._select(accepted_only))

    def _select(self, accepted_only):
        return [s for s in self._spans if s['accepted']] if accepted_only else self._spans

    def wait_for_requests(self, n, timeout=10.0):
        end = time.monotonic() + timeout
        with self._cond:
            while len(self._requests) < n:
                left = end - time.monotonic()
                if left <= 0:
                    raise TimeoutError('receiver: %d request(s) after %.1f s, wanted %d'
                                       % (len(self._requests), timeout, n))
                self._cond.wait(left)
            return list(self._requests)

    def wait_for_spans(self, n, timeout=10.0, accepted_only=True):
        """Wait for n spans (by default: accepted ones, i.e. answered 2xx); return them."""
        end = time.monotonic() + timeout
        with self._cond:
            while len(self._select(accepted_only)) < n:
                left = end - time.monotonic()
                if left <= 0:
                    raise TimeoutError('receiver: %d %sspan(s) after %.1f s, wanted %d; got %s'
                                       % (len(self._select(accepted_only)),
                                          'accepted ' if accepted_only else '', timeout, n,
                                          [(s.get('name'), s['accepted'])
                                           for s in self._spans]))
                self._cond.wait(left)
            return copy.deepcopy(self._select(accepted_only))

    def clear(self):
        with self._lock:
            self._requests.clear()
            self._spans.clear()
            self._step = 0

    # -- request handling --

    def _next_step(self):
        with self._lock:
            i = min(self._step, len(self.script) - 1)
            self._step += 1
        st = self.script[i]
        if isinstance(st, dict):
            return dict(st)
        if st == 'close':
            return {'close': True}
        return {'status': int(st)}

    def _decode(self, body, json_ct):
        if json_ct:
            return json.loads(body.decode('utf-8')), 'json'
        msg = self._pb.ExportTraceServiceRequest()
        msg.ParseFromString(body)
        d = self._json_format.MessageToDict(msg, preserving_proto_field_name=False)
        return d, 'protobuf'

    def _handle(self, h, raw):
        hdrs = Headers(h.headers.items())
        ctype = hdrs.get('content-type', '')
        json_ct = ctype.split(';')[0].strip().lower() == 'application/json'
        rec = {
            'method': h.command,
            'path': h.path,
            'headers': hdrs,
            'header_list': list(h.headers.items()),
            'raw': raw,
            'body': None,
            'decoded': None,
            'format': 'json' if json_ct else 'protobuf',
            'error': None,
            'status': None,
            'time': time.monotonic(),
        }
        spans = []
        if h.command == 'POST':
            try:
                body = raw
                enc = hdrs.get('content-encoding', '').strip().lower()
                if enc == 'gzip':
                    body = gzip.decompress(raw)
                elif enc == 'deflate':
                    body = zlib.decompress(raw)
                elif enc not in ('', 'identity'):
                    raise ValueError('unsupported Content-Encoding ' + enc)
                rec['body'] = body
                rec['decoded'], rec['format'] = self._decode(body, json_ct)
            except Exception as e:  # anything a broken encoder could cause
                rec['error'] = '%s: %s' % (type(e).__name__, e)

        if rec['error'] is not None or h.command != 'POST':
            # Like a collector: malformed data is a 400; the script is not consumed.
            step = {'status': 400 if h.command == 'POST' else 405}
        else:
            step = self._next_step()

        with self._cond:
            rec['index'] = len(self._requests)
            rec['status'] = None if step.get('close') else step.get('status', 200)
            if rec['decoded'] is not None:
                spans = spans_of(rec['decoded'], rec['format'] == 'protobuf', rec['index'],
                                 self._trace_pb)
                accepted = rec['status'] is not None and 200 <= rec['status'] < 300
                for sp in spans:
                    sp['accepted'] = accepted
            self._requests.append(rec)
            self._spans.extend(spans)
            self._cond.notify_all()
        if self.out and spans:
            self._write_out(spans)

        delay = step.get('delay', self.delay)
        if delay:
            time.sleep(delay)
        if step.get('close'):
            h.close_connection = True
            return
        self._answer(h, step, json_ct)

    def _write_out(self, spans):
        def default(o):
            if isinstance(o, bytes):
                return base64.b64encode(o).decode()
            raise TypeError(type(o).__name__)
        with self._lock:
            with open(self.out, 'a') as f:
                for s in spans:
                    f.write(json.dumps(s, default=default, sort_keys=True) + '\n')

    def _answer(self, h, step, json_ct):
        status = step.get('status', 200)
        ctype = 'application/json' if json_ct else 'application/x-protobuf'
        if 'body' in step:
            body = step['body']
        elif 200 <= status < 300:
            resp = self._pb.ExportTraceServiceResponse()
            ps = step.get('partial_success')
            if ps:
                resp.partial_success.rejected_spans = ps[0]
                resp.partial_success.error_message = ps[1]
            if json_ct:
                body = self._json_format.MessageToJson(resp, indent=None).encode()
            else:
                body = resp.SerializeToString()
        else:
            body = _status_body(status, 'scripted %d' % status, json_ct)
        h.send_response(status)
        h.send_header('Content-Type', ctype)
        h.send_header('Content-Length', str(len(body)))
        ra = step.get('retry_after')
        if ra is None and status in (429, 503):
            ra = self.retry_after
        if ra is not None:
            h.send_header('Retry-After', str(ra))
        for k, v in step.get('headers', {}).items():
            h.send_header(k, v)
        h.end_headers()
        if h.command != 'HEAD':
            h.wfile.write(body)
        h.wfile.flush()


def _parse_script(s):
    out = []
    for tok in s.split(','):
        tok = tok.strip()
        if tok:
            out.append(tok if tok == 'close' else int(tok))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description='Scripted OTLP/HTTP trace receiver (tests).')
    ap.add_argument('--port', type=int, default=4318)
    ap.add_argument('--script', default='200',
                    help='comma-separated statuses, or "close"; the last one repeats')
    ap.add_argument('--delay', type=float, default=0, help='seconds before each answer')
    ap.add_argument('--retry-after', default=None, help='Retry-After value on 429/503')
    ap.add_argument('--out', default=None, help='append received spans (JSON lines) here')
    ap.add_argument('--proto-py', default=None,
                    help='directory of the generated *_pb2.py (default: $OTELP_PROTO_PY)')
    ap.add_argument('-v', '--verbose', action='store_true')
    a = ap.parse_args(argv)
    r = Receiver(script=_parse_script(a.script), delay=a.delay, proto_py_dir=a.proto_py,
                 port=a.port, retry_after=a.retry_after, out=a.out, verbose=a.verbose)
    r.start()
    print('listening on %s (traces: %s)' % (r.endpoint, r.traces_url), flush=True)
    done = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: done.set())
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    seen = 0
    while not done.wait(0.2):
        reqs = r.requests
        for rec in reqs[seen:]:
            n = len(spans_of(rec['decoded'], rec['format'] == 'protobuf')) \
                if rec['decoded'] else 0
            print('%s %s -> %s: %d span(s)%s' % (rec['method'], rec['path'], rec['status'], n,
                                                  ' ERROR ' + rec['error'] if rec['error']
                                                  else ''), flush=True)
        seen = len(reqs)
    r.stop()
    return 0


if __name__ == '__main__':
    sys.exit(main())
