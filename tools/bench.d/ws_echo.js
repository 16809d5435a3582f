#!/usr/bin/env node
// WebSocket echo load for tools/bench: opens --conns tunnels to /ws, then
// for --duration seconds each tunnel sends a --size byte text message and
// waits for its echo before sending the next (one message in flight per
// tunnel, like wrk's one request per connection). Prints one line in the
// format of summary.lua so report.py treats it like a wrk round:
//   BENCH requests=<echoed messages> duration_us=... p50_us=... p99_us=... err_*=...
// Node's standard library only: the frames are simple enough to write here.
'use strict';
const net = require('net');
const crypto = require('crypto');

const args = { port: 0, conns: 200, duration: 6, size: 64, path: '/ws' };
for (let i = 2; i < process.argv.length; i += 2) {
  const key = process.argv[i].replace(/^--/, '');
  if (!(key in args)) { console.error(`ws_echo: unknown option --${key}`); process.exit(2); }
  args[key] = key === 'path' ? process.argv[i + 1] : Number(process.argv[i + 1]);
}
if (!(args.port > 0 && args.conns > 0 && args.duration > 0 && args.size > 0 && args.size < 126)) {
  console.error('usage: ws_echo.js --port P [--conns N] [--duration S] [--size 1..125] [--path /ws]');
  process.exit(2);
}

// One masked client frame, built once: the proxies relay bytes and the echo
// server unmasks whatever key it gets.
const payload = Buffer.alloc(args.size, 'x');
const mask = crypto.randomBytes(4);
const frame = Buffer.concat([Buffer.from([0x81, 0x80 | args.size]), mask,
  Buffer.from(payload.map((b, i) => b ^ mask[i % 4]))]);
const echoLength = 2 + args.size;  // the server's unmasked frame

const errors = { connect: 0, read: 0, write: 0, status: 0, timeout: 0 };
const latencies = [];
let messages = 0, bytes = 0, measuring = false, finished = false, ready = 0;
const sockets = [];

function open(index) {
  const sock = net.connect({ port: args.port, host: '127.0.0.1' });
  sock.setNoDelay(true);
  sockets.push(sock);
  let upgraded = false, buf = Buffer.alloc(0), sentAt = 0n;
  const send = () => { sentAt = process.hrtime.bigint(); sock.write(frame); };
  sock.on('connect', () => {
    const key = crypto.randomBytes(16).toString('base64');
    sock.write(`GET ${args.path} HTTP/1.1\r\nHost: bench\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
               `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  });
  sock.on('data', (chunk) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    if (!upgraded) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      if (!buf.slice(0, 12).toString().startsWith('HTTP/1.1 101')) { errors.status++; sock.destroy(); return; }
      upgraded = true;
      buf = buf.slice(end + 4);
      if (++ready === args.conns) start();
      sock.send = send;
    }
    while (buf.length >= echoLength) {
      buf = buf.slice(echoLength);
      if (measuring) {
        messages++;
        bytes += echoLength;
        latencies.push(Number(process.hrtime.bigint() - sentAt) / 1000);
      }
      if (!finished) send();
    }
  });
  sock.on('error', (e) => {
    if (finished) return;
    if (!upgraded) errors.connect++; else if (e.code === 'EPIPE') errors.write++; else errors.read++;
  });
  sock.on('close', () => { if (!finished && upgraded) errors.read++; });
}

let startedAt = 0n;
function start() {
  // Every tunnel is open; warm up for half a second, then measure.
  for (const s of sockets) if (s.send) s.send();
  setTimeout(() => {
    measuring = true;
    startedAt = process.hrtime.bigint();
    setTimeout(stop, args.duration * 1000);
  }, 500);
}

function percentile(sorted, p) {
  if (!sorted.length) return 0;
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p / 100))]);
}

function stop() {
  finished = true;
  const elapsedUs = Number(process.hrtime.bigint() - startedAt) / 1000;
  const sorted = Float64Array.from(latencies).sort();
  process.stdout.write(`BENCH\trequests=${messages}\tduration_us=${Math.round(elapsedUs)}\tbytes=${bytes}` +
    `\tp50_us=${percentile(sorted, 50)}\tp99_us=${percentile(sorted, 99)}` +
    `\terr_connect=${errors.connect}\terr_read=${errors.read}\terr_write=${errors.write}` +
    `\terr_status=${errors.status}\terr_timeout=${errors.timeout}\n`);
  process.stdout.write(`${(messages / (elapsedUs / 1e6)).toFixed(0)} messages/s over ${args.conns} tunnels\n`);
  for (const s of sockets) s.destroy();
  process.exit(0);
}

// Not all tunnels opened in 20 s: report what failed rather than hang.
setTimeout(() => {
  if (ready < args.conns) {
    errors.timeout += args.conns - ready;
    console.error(`ws_echo: only ${ready} of ${args.conns} tunnels upgraded`);
    measuring = true; startedAt = process.hrtime.bigint(); stop();
  }
}, 20000).unref();

for (let i = 0; i < args.conns; i++) open(i);
