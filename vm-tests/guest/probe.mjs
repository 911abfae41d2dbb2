// Client probe, run inside the guest in a test domain (runcon) and maybe a network namespace
// (nsenter). argv[2] is a JSON list of probes; each is tried concurrently and reported as one
// JSON line: {"id", "outcome": "ok"|"refused"|"timeout"|"error", "code", "ms"}.
//   {"id": "a4", "proto": "tcp"|"udp", "host": "192.0.2.10", "port": 3128, "from": "198.51.100.20",
//    "timeoutMs": 3000, "untilFile": "/tmp/stop", "intervalMs": 50}
// ok means a payload went out and its echo came back.
import net from 'node:net';
import dgram from 'node:dgram';
import process from 'node:process';
import { existsSync } from 'node:fs';
import { setTimeout, clearTimeout, setInterval, clearInterval } from 'node:timers';

const REFUSED = new Set(['ECONNREFUSED', 'EPERM', 'EACCES', 'ECONNRESET']);

function classify(err) {
  return { outcome: REFUSED.has(err.code) ? 'refused' : 'error', code: err.code ?? String(err.message) };
}

function tcp(p) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: p.host, port: p.port, localAddress: p.from });
    const done = (r) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done({ outcome: 'timeout', code: sock.connecting ? 'connect' : 'echo' }), p.timeoutMs);
    let got = '';
    sock.on('connect', () => sock.write('smc-ping\n'));
    sock.on('data', (d) => {
      got += d.toString();
      if (got.includes('smc-ping')) done({ outcome: 'ok', code: '' });
    });
    sock.on('error', (err) => done(classify(err)));
  });
}

function udp(p) {
  return new Promise((resolve) => {
    const sock = dgram.createSocket(p.host.includes(':') ? 'udp6' : 'udp4');
    const done = (r) => {
      clearTimeout(timer);
      clearInterval(resend);
      sock.close();
      resolve(r);
    };
    const timer = setTimeout(() => done({ outcome: 'timeout', code: 'echo' }), p.timeoutMs);
    let resend;
    sock.on('error', (err) => done(classify(err)));
    sock.on('message', (m) => {
      if (m.toString().includes('smc-ping')) done({ outcome: 'ok', code: '' });
    });
    const send = () => sock.send('smc-ping\n', (err) => err && done(classify(err)));
    sock.bind({ address: p.from, port: 0 }, () => {
      sock.connect(p.port, p.host, (err) => {
        if (err) return done(classify(err));
        send();
        resend = setInterval(send, 500); // UDP may lose the first datagram to neighbour discovery
      });
    });
  });
}

// With "untilFile", a probe repeats one attempt after another until that file exists and
// reports each attempt, numbered by "n".
const probes = JSON.parse(process.argv[2]);
await Promise.all(
  probes.map(async (p) => {
    for (let n = 0; ; n++) {
      const t0 = Date.now();
      const r = await (p.proto === 'udp' ? udp : tcp)({ timeoutMs: 3000, ...p });
      process.stdout.write(`${JSON.stringify({ id: p.untilFile ? `${p.id}#${n}` : p.id, ...r, ms: Date.now() - t0 })}\n`);
      if (!p.untilFile || existsSync(p.untilFile)) break;
      await new Promise((r) => setTimeout(r, p.intervalMs ?? 50)); // a refusal is instant: do not spin
    }
  }),
);
