#!/usr/bin/python3
"""scripts/demo.sh end to end (README command one), on the build under test: it must run,
print the waterfall, write the HTML page, and its traces must have the expected shape:
for each of the four requests one trace across three processes,

    shop-client CLIENT -> frontend SERVER -> frontend CLIENT -> backend SERVER -> Redis GET,
                                                                  and on a cache miss
                                                                  BEGIN, SELECT orders,
                                                                  COMMIT/ROLLBACK, Redis SET

the last request ("x") failing in PostgreSQL with SQLSTATE 22P02.

Environment: OTELP_TOOL (the built otel-preload, whose build directory the demo uses).
"""
import json
import os
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
TOOL = os.environ["OTELP_TOOL"]
BUILD = os.path.dirname(os.path.dirname(TOOL))


def load_spans(path):
    spans = []
    with open(path) as f:
        for line in f:
            doc = json.loads(line)
            for rs in doc["resourceSpans"]:
                res = {a["key"]: a["value"].get("stringValue")
                       for a in rs["resource"]["attributes"]}
                for ss in rs["scopeSpans"]:
                    for s in ss["spans"]:
                        s["service"] = res.get("service.name")
                        s["attrs"] = {a["key"]: list(a["value"].values())[0]
                                      for a in s.get("attributes", [])}
                        spans.append(s)
    return spans


class Demo(unittest.TestCase):
    @unittest.skipIf(os.environ.get("OTELP_ASAN_RUNTIME"), "not under ASan")
    def test_demo_runs_and_traces_have_the_expected_shape(self):
        with tempfile.TemporaryDirectory() as tmp:
            traces = os.path.join(tmp, "traces.jsonl")
            env = dict(os.environ, OTELP_DEMO_BUILD=BUILD, OTELP_DEMO_TRACES=traces)
            env.pop("LD_PRELOAD", None)
            p = subprocess.run(["bash", os.path.join(REPO, "scripts", "demo.sh")], cwd=tmp,
                               env=env, capture_output=True, text=True, timeout=300)
            print(p.stdout[-4000:])
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("Trace ", p.stdout)
            self.assertIn("SELECT orders", p.stdout)
            html = os.path.join(tmp, "otel-preload-demo.html")
            self.assertTrue(os.path.getsize(html) > 1000)
            spans = load_spans(traces)

        by_trace = {}
        for s in spans:
            by_trace.setdefault(s["traceId"], []).append(s)
        self.assertEqual(len(by_trace), 4, [s["name"] for s in spans])
        kinds = {1: "INTERNAL", 2: "SERVER", 3: "CLIENT"}
        errors = 0
        for tid, ts in by_trace.items():
            ids = {s["spanId"]: s for s in ts}
            roots = [s for s in ts if not s.get("parentSpanId")]
            self.assertEqual(len(roots), 1, tid)
            root = roots[0]
            self.assertEqual((root["service"], kinds[root["kind"]]), ("shop-client", "CLIENT"))

            def children(s):
                return [c for c in ts if c.get("parentSpanId") == s["spanId"]]

            fs = children(root)
            self.assertEqual([(c["service"], kinds[c["kind"]]) for c in fs],
                             [("frontend", "SERVER")])
            fc = children(fs[0])
            self.assertEqual([(c["service"], kinds[c["kind"]]) for c in fc],
                             [("frontend", "CLIENT")])
            bs = children(fc[0])
            self.assertEqual([(c["service"], kinds[c["kind"]]) for c in bs],
                             [("backend", "SERVER")])
            db = sorted(children(bs[0]), key=lambda s: int(s["startTimeUnixNano"]))
            self.assertTrue(all(c["service"] == "backend" and kinds[c["kind"]] == "CLIENT"
                                for c in db))
            self.assertEqual(db[0]["attrs"]["db.system.name"], "redis")
            self.assertEqual(db[0]["name"], "GET")
            for s in ts:  # every span of the trace is reachable from the root
                p_ = s.get("parentSpanId")
                self.assertTrue(not p_ or p_ in ids, s["name"])
            pg = [c for c in db if c["attrs"]["db.system.name"] == "postgresql"]
            if pg:
                sel = [c for c in pg if c["name"] == "SELECT orders"]
                self.assertEqual(len(sel), 1)
                self.assertEqual(sel[0]["attrs"]["db.query.text"],
                                 "SELECT id, item, quantity FROM orders WHERE id = ?")
                if sel[0].get("status", {}).get("code") == 2:
                    errors += 1
                    self.assertEqual(sel[0]["attrs"]["db.response.status_code"], "22P02")
                    self.assertIn("code.stacktrace", sel[0]["attrs"])
        self.assertEqual(errors, 1)


if __name__ == "__main__":
    unittest.main()
