#!/usr/bin/python3
"""The file exporter (OTEL_TRACES_EXPORTER=file, OTEL_PRELOAD_FILE): every line is one OTLP
JSON ExportTraceServiceRequest that Google's protobuf JSON parser accepts, and processes
appending to one file at the same time never tear or interleave a line.

Environment: OTELP_LIB, OTELP_HOST_API, OTELP_PROTO_PY (tests/preload/meson.build).
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from receiver import load_trace_service_pb2  # noqa: E402
from google.protobuf import json_format  # noqa: E402

LIB = os.environ["OTELP_LIB"]
HOST = os.environ["OTELP_HOST_API"]
ASAN = os.environ.get("OTELP_ASAN_RUNTIME", "")


def env_for(path, extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL")}
    env["LD_PRELOAD"] = ":".join(p for p in (ASAN, LIB) if p)
    if ASAN:
        env["ASAN_OPTIONS"] = "detect_leaks=0:verify_asan_link_order=0"
    env.update({"OTEL_TRACES_EXPORTER": "file", "OTEL_PRELOAD_FILE": path,
                "OTEL_SERVICE_NAME": "file-test", "OTEL_BSP_SCHEDULE_DELAY": "5"})
    env.update(extra or {})
    return env


class FileExporter(unittest.TestCase):
    def setUp(self):
        self.pb2 = load_trace_service_pb2(os.environ.get("OTELP_PROTO_PY"))

    def parse_lines(self, path):
        with open(path, "rb") as f:
            data = f.read()
        self.assertTrue(data.endswith(b"\n"), "the file must end with a whole line")
        spans = 0
        for i, line in enumerate(data.split(b"\n")[:-1]):
            req = self.pb2.ExportTraceServiceRequest()
            json_format.Parse(line.decode("utf-8"), req)  # raises on a torn line
            self.assertEqual(json.loads(line).keys(), {"resourceSpans"}, i)
            for rs in req.resource_spans:
                for ss in rs.scope_spans:
                    spans += len(ss.spans)
        return spans

    def test_lines_are_otlp_json(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "t.jsonl")
            p = subprocess.run([HOST, "basic"], env=env_for(path), capture_output=True,
                               timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertGreaterEqual(self.parse_lines(path), 2)
            self.assertEqual(os.stat(path).st_mode & 0o777, 0o644 & ~self.umask())

    @staticmethod
    def umask():
        m = os.umask(0)
        os.umask(m)
        return m

    def test_concurrent_processes_never_tear_a_line(self):
        procs, per = 8, 3000
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "shared.jsonl")
            # Small batches: many lines from every process, written at the same time.
            env = env_for(path, {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "7",
                                 "OTEL_BSP_MAX_QUEUE_SIZE": "100000"})
            ps = [subprocess.Popen([HOST, "burst", str(per)], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                  for _ in range(procs)]
            for p in ps:
                _, err = p.communicate(timeout=120)
                self.assertEqual(p.returncode, 0, err)
            with open(path, "rb") as f:
                lines = f.read().count(b"\n")
            self.assertGreater(lines, procs * 10)
            self.assertEqual(self.parse_lines(path), procs * per)


if __name__ == "__main__":
    unittest.main()
