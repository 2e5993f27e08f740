// Test server for tests/preload/test_http.py: node's plain `http` module, no packages.
//   node node-server.js PORT [BACKEND_PORT]
// Routes:
//   GET /hello   "hello from node\n"
//   GET /call    calls http://127.0.0.1:BACKEND_PORT/hello (http.get, inside the handler)
//                and answers "node front got: " + that body
// Environment: CHAIN_LOG, a file receiving one JSON line per request: method, path, headers
// (rawHeaders as [name, value] pairs, as received).
'use strict';
const http = require('http');
const fs = require('fs');

const port = Number(process.argv[2]);
const backendPort = process.argv[3] ? Number(process.argv[3]) : 0;

function log(req) {
  if (!process.env.CHAIN_LOG) return;
  const headers = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2)
    headers.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
  fs.appendFileSync(process.env.CHAIN_LOG,
                    JSON.stringify({method: req.method, path: req.url, headers}) + '\n');
}

const server = http.createServer((req, res) => {
  log(req);
  if (req.url === '/hello') {
    res.writeHead(200, {'Content-Type': 'text/plain'});
    res.end('hello from node\n');
  } else if (req.url === '/call' && backendPort) {
    http.get({host: '127.0.0.1', port: backendPort, path: '/hello'}, (up) => {
      const parts = [];
      up.on('data', (c) => parts.push(c));
      up.on('end', () => {
        res.writeHead(200, {'Content-Type': 'text/plain'});
        res.end('node front got: ' + Buffer.concat(parts).toString());
      });
    }).on('error', (e) => {
      res.writeHead(502, {'Content-Type': 'text/plain'});
      res.end('backend failed: ' + e.code + '\n');
    });
  } else {
    res.writeHead(404, {'Content-Type': 'text/plain'});
    res.end('not found\n');
  }
});
server.keepAliveTimeout = 30000;
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
