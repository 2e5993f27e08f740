'use strict';
// A minimal Node.js HTTP server for scripts/bench-http.sh: every request gets a small 200 text
// response with a Content-Length. It listens on 127.0.0.1, on the port given as the first
// argument (0 or none: one the kernel picks), prints "listening PORT" once it accepts
// connections, and stops on SIGTERM or SIGINT (closing gracefully, so that an OpenTelemetry SDK
// loaded with --require can flush its spans on the way out).
const http = require('http');

const body = Buffer.from('hello, world\n');
const port = Number(process.argv[2] || 0);

const server = http.createServer((req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
  res.end(body);
});

server.keepAliveTimeout = 60000;
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});

// No process.exit() once closed: the process ends when nothing is left to do, after whatever
// else listens for the signal (an SDK's shutdown) is done; the unref'd timer is a backstop.
function stop() {
  server.close();
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 5000).unref();
}

process.on('SIGTERM', stop);
process.on('SIGINT', stop);
