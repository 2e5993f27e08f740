// Test client for tests/preload/test_http.py: node's plain `http` module, no packages.
//   node node-client.js URL [COUNT]
// GETs URL COUNT times (default 1) one after the other with a keep-alive agent and prints
// "STATUS BODY" for each answer. Exit status 1 on a transport error.
'use strict';
const http = require('http');

const url = process.argv[2];
const count = process.argv[3] ? Number(process.argv[3]) : 1;
const agent = new http.Agent({keepAlive: true, maxSockets: 1});

function one(i) {
  if (i >= count) {
    agent.destroy();
    return;
  }
  http.get(url, {agent}, (res) => {
    const parts = [];
    res.on('data', (c) => parts.push(c));
    res.on('end', () => {
      process.stdout.write(res.statusCode + ' ' + Buffer.concat(parts).toString());
      one(i + 1);
    });
  }).on('error', (e) => {
    process.stderr.write('node-client: ' + e.code + '\n');
    process.exitCode = 1;
  });
}
one(0);
