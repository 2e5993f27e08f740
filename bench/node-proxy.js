// A minimal Node reverse proxy for bench/link-accuracy.py: every request is forwarded, same
// method and path, to the backend with http.request (the default agent keeps connections
// alive), and the backend's status and body are sent back.
//   node node-proxy.js PORT BACKEND_PORT
'use strict';
const http = require('http');

const port = Number(process.argv[2]);
const backendPort = Number(process.argv[3]);

http.createServer((req, res) => {
  const up = http.request(
      {host: '127.0.0.1', port: backendPort, path: req.url, method: req.method}, (r) => {
        const parts = [];
        r.on('data', (c) => parts.push(c));
        r.on('end', () => {
          res.writeHead(r.statusCode, {'Content-Type': 'text/plain'});
          res.end(Buffer.concat(parts));
        });
      });
  up.on('error', (e) => {
    res.writeHead(502);
    res.end(e.code + '\n');
  });
  up.end();
}).listen(port, '127.0.0.1');
