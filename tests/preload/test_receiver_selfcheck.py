#!/usr/bin/python3
"""Self-check of the test receiver (receiver.py): decoding, scripting, keep-alive.

Needs the generated protobuf modules: OTELP_PROTO_PY=<builddir>/proto, or protoc on PATH.
"""

import gzip
import http.client
import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import receiver  # noqa: E402

SKIP_REASON = ''
try:
    pb = receiver.load_trace_service_pb2()
except Exception as e:  # no generated modules, no protoc
    pb = None
    SKIP_REASON = str(e)

TRACE_ID = '0af7651916cd43dd8448eb211c80319c'
SPAN_ID = 'b7ad6b7169203331'


def make_request(n_spans=1):
    r = pb.ExportTraceServiceRequest()
    rs = r.resource_spans.add()
    kv = rs.resource.attributes.add()
    kv.key, kv.value.string_value = 'service.name', 'selfcheck'
    kv = rs.resource.attributes.add()
    kv.key, kv.value.int_value = 'process.pid', 4242
    ss = rs.scope_spans.add()
    ss.scope.name, ss.scope.version = 'otelpreload', '0.1.0'
    ss.schema_url = 'https://opentelemetry.io/schemas/1.44.0'
    for i in range(n_spans):
        s = ss.spans.add()
        s.trace_id = bytes.fromhex(TRACE_ID)
        s.span_id = bytes.fromhex(SPAN_ID)
        s.parent_span_id = bytes.fromhex('00f067aa0ba902b7')
        s.name = 'span-%d' % i
        s.kind = 3
        s.flags = 0x301
        s.start_time_unix_nano = 1700000000000000000
        s.end_time_unix_nano = 1700000000123456789
        for key, field, val in (('i', 'int_value', -5), ('b', 'bool_value', True),
                                ('d', 'double_value', 2.5), ('s', 'string_value', 'x')):
            a = s.attributes.add()
            a.key = key
            setattr(a.value, field, val)
        a = s.attributes.add()
        a.key = 'arr'
        a.value.array_value.values.add().int_value = 1
        a.value.array_value.values.add().string_value = 'two'
        ev = s.events.add()
        ev.name, ev.time_unix_nano = 'exception', 1700000000000000001
        a = ev.attributes.add()
        a.key, a.value.string_value = 'exception.type', 'E'
        link = s.links.add()
        link.trace_id, link.span_id = bytes.fromhex('11' * 16), bytes.fromhex('22' * 8)
        s.status.code, s.status.message = 2, 'boom'
    return r.SerializeToString()


@unittest.skipIf(pb is None, SKIP_REASON)
class ReceiverSelfCheck(unittest.TestCase):
    def setUp(self):
        self.rx = None
        self.conn = None

    def tearDown(self):
        if self.conn:
            self.conn.close()
        if self.rx:
            self.rx.stop()

    def start(self, **kw):
        self.rx = receiver.Receiver(**kw).start()
        self.conn = http.client.HTTPConnection('127.0.0.1', self.rx.port, timeout=10)
        return self.conn

    def post(self, conn, body, ctype='application/x-protobuf', headers=None, path='/v1/traces'):
        h = {'Content-Type': ctype}
        h.update(headers or {})
        conn.request('POST', path, body=body, headers=h)
        resp = conn.getresponse()
        return resp, resp.read()

    def test_protobuf_plain_and_keepalive(self):
        conn = self.start()
        for _ in range(2):  # one connection, two requests
            resp, body = self.post(conn, make_request(2))
            self.assertEqual(resp.status, 200)
            self.assertEqual(resp.getheader('Content-Type'), 'application/x-protobuf')
            self.assertEqual(body, b'')  # empty ExportTraceServiceResponse
        spans = self.rx.wait_for_spans(4, timeout=5)
        self.assertEqual(len(spans), 4)
        s = spans[0]
        self.assertEqual(s['traceId'], TRACE_ID)
        self.assertEqual(s['spanId'], SPAN_ID)
        self.assertEqual(s['parentSpanId'], '00f067aa0ba902b7')
        self.assertEqual(s['name'], 'span-0')
        self.assertEqual(s['kind'], 'SPAN_KIND_CLIENT')
        self.assertEqual(s['flags'], 0x301)
        self.assertEqual(s['startTimeUnixNano'], 1700000000000000000)
        self.assertEqual(s['endTimeUnixNano'], 1700000000123456789)
        self.assertEqual(s['attributes'], {'i': -5, 'b': True, 'd': 2.5, 's': 'x',
                                           'arr': [1, 'two']})
        self.assertEqual(s['events'][0]['attributes'], {'exception.type': 'E'})
        self.assertEqual(s['events'][0]['timeUnixNano'], 1700000000000000001)
        self.assertEqual(s['links'][0]['traceId'], '11' * 16)
        self.assertEqual(s['links'][0]['spanId'], '22' * 8)
        self.assertEqual(s['status'], {'code': 'STATUS_CODE_ERROR', 'message': 'boom'})
        self.assertEqual(s['resource'], {'service.name': 'selfcheck', 'process.pid': 4242})
        self.assertEqual(s['scope']['name'], 'otelpreload')
        self.assertEqual(s['scope']['schemaUrl'], 'https://opentelemetry.io/schemas/1.44.0')
        self.assertEqual([x['request_index'] for x in spans], [0, 0, 1, 1])
        reqs = self.rx.requests
        self.assertEqual(len(reqs), 2)
        self.assertEqual(reqs[0]['method'], 'POST')
        self.assertEqual(reqs[0]['path'], '/v1/traces')
        self.assertEqual(reqs[0]['format'], 'protobuf')
        self.assertEqual(reqs[0]['headers'].get('Content-Type'), 'application/x-protobuf')
        self.assertEqual(reqs[0]['headers']['content-type'], 'application/x-protobuf')
        self.assertIn('CONTENT-TYPE', reqs[0]['headers'])
        self.assertTrue(all(x['accepted'] for x in spans))
        self.assertEqual(reqs[0]['status'], 200)
        self.assertIsNone(reqs[0]['error'])
        self.assertIn('resourceSpans', reqs[0]['decoded'])

    def test_gzip(self):
        conn = self.start()
        raw = make_request()
        resp, _ = self.post(conn, gzip.compress(raw), headers={'Content-Encoding': 'gzip'})
        self.assertEqual(resp.status, 200)
        req = self.rx.requests[0]
        self.assertEqual(req['headers']['content-encoding'], 'gzip')
        self.assertEqual(req['body'], raw)
        self.assertNotEqual(req['raw'], raw)
        self.assertEqual(len(self.rx.spans()), 1)

    def test_json(self):
        conn = self.start()
        doc = {'resourceSpans': [{'resource': {'attributes': [
            {'key': 'service.name', 'value': {'stringValue': 'j'}}]},
            'scopeSpans': [{'scope': {'name': 'otelpreload'}, 'spans': [{
                'traceId': TRACE_ID.upper(), 'spanId': SPAN_ID, 'name': 'js', 'kind': 2,
                'startTimeUnixNano': '1700000000000000000', 'endTimeUnixNano': '1',
                'attributes': [{'key': 'n', 'value': {'intValue': '7'}},
                               {'key': 'f', 'value': {'doubleValue': 'NaN'}}]}]}]}]}
        resp, body = self.post(conn, json.dumps(doc).encode(), ctype='application/json')
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.getheader('Content-Type'), 'application/json')
        self.assertEqual(json.loads(body), {})
        s = self.rx.spans()[0]
        self.assertEqual(self.rx.requests[0]['format'], 'json')
        self.assertEqual(s['traceId'], TRACE_ID)
        self.assertEqual(s['startTimeUnixNano'], 1700000000000000000)
        self.assertEqual(s['attributes']['n'], 7)
        self.assertEqual(s['kind'], 'SPAN_KIND_SERVER')  # JSON integer enum, named
        self.assertNotEqual(s['attributes']['f'], s['attributes']['f'])  # NaN
        self.assertEqual(s['resource'], {'service.name': 'j'})

    def test_script_and_retry_after(self):
        conn = self.start(script=[503, 429, 200], retry_after='2')
        statuses = []
        for _ in range(4):
            resp, body = self.post(conn, make_request())
            statuses.append((resp.status, resp.getheader('Retry-After')))
        self.assertEqual(statuses, [(503, '2'), (429, '2'), (200, None), (200, None)])
        self.assertEqual([r['status'] for r in self.rx.requests], [503, 429, 200, 200])
        self.assertEqual(len(self.rx.spans()), 4)
        self.assertEqual([s['request_index'] for s in self.rx.spans(accepted_only=True)],
                         [2, 3])
        self.assertEqual(len(self.rx.wait_for_spans(2, timeout=1)), 2)
        self.assertEqual(len(self.rx.wait_for_spans(4, timeout=1, accepted_only=False)), 4)
        with self.assertRaises(TimeoutError):
            self.rx.wait_for_spans(3, timeout=0.2)

    def test_error_body_is_rpc_status(self):
        conn = self.start(script=[400])
        resp, body = self.post(conn, make_request())
        self.assertEqual(resp.status, 400)
        # google.rpc.Status{code: 3, message: "scripted 400"}
        self.assertEqual(body, b'\x08\x03\x12\x0cscripted 400')

    def test_partial_success(self):
        conn = self.start(script=[{'status': 200, 'partial_success': (3, 'too old')}])
        resp, body = self.post(conn, make_request())
        m = pb.ExportTraceServiceResponse()
        m.ParseFromString(body)
        self.assertEqual(m.partial_success.rejected_spans, 3)
        self.assertEqual(m.partial_success.error_message, 'too old')

    def test_close_without_answer(self):
        conn = self.start(script=['close', 200])
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
            self.post(conn, make_request())
        conn.close()
        resp, _ = self.post(conn, make_request())
        self.assertEqual(resp.status, 200)
        self.assertEqual([r['status'] for r in self.rx.requests], [None, 200])

    def test_delay(self):
        conn = self.start(delay=0.5)
        t0 = time.monotonic()
        resp, _ = self.post(conn, make_request())
        self.assertEqual(resp.status, 200)
        self.assertGreaterEqual(time.monotonic() - t0, 0.45)

    def test_malformed_body_is_400_and_recorded(self):
        conn = self.start(script=[200])
        resp, _ = self.post(conn, b'\xff\xff\xff garbage')
        self.assertEqual(resp.status, 400)
        resp, _ = self.post(conn, b'not json', ctype='application/json')
        self.assertEqual(resp.status, 400)
        resp, _ = self.post(conn, b'not gzip', headers={'Content-Encoding': 'gzip'})
        self.assertEqual(resp.status, 400)
        reqs = self.rx.requests
        self.assertEqual(len(reqs), 3)
        self.assertTrue(all(r['error'] for r in reqs))
        self.assertEqual(self.rx.spans(), [])

    def test_any_path_recorded(self):
        conn = self.start()
        resp, _ = self.post(conn, make_request(), path='/custom/prefix/v1/traces')
        self.assertEqual(resp.status, 200)
        self.assertEqual(self.rx.requests[0]['path'], '/custom/prefix/v1/traces')

    def test_wait_for_spans_timeout(self):
        self.start()
        t0 = time.monotonic()
        with self.assertRaises(TimeoutError):
            self.rx.wait_for_spans(1, timeout=0.3)
        self.assertLess(time.monotonic() - t0, 2)

    def test_stop_does_not_wait_for_a_slow_answer(self):
        self.start(delay=30)
        import threading
        t = threading.Thread(target=lambda: self.assertRaises(
            Exception, self.post, self.conn, make_request()), daemon=True)
        t.start()
        self.rx.wait_for_requests(1, timeout=5)
        t0 = time.monotonic()
        self.rx.stop()
        self.assertLess(time.monotonic() - t0, 3)
        t.join(5)
        self.rx = None

    def test_stop_closes_keepalive_connections(self):
        conn = self.start()
        resp, _ = self.post(conn, make_request())
        self.assertEqual(resp.status, 200)
        t0 = time.monotonic()
        self.rx.stop()
        self.assertLess(time.monotonic() - t0, 3)
        with self.assertRaises((http.client.HTTPException, ConnectionError, OSError)):
            self.post(conn, make_request())
        self.rx = None


if __name__ == '__main__':
    unittest.main()
