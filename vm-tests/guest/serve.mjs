// Echo server, run inside the guest in a test domain and maybe a network namespace.
// argv[2] is a JSON list of listeners {"proto": "tcp"|"udp", "host": "::", "port": 8080}.
// Prints "READY" once every listener is bound, then one JSON line per connection or datagram.
import net from 'node:net';
import dgram from 'node:dgram';
import process from 'node:process';

const listeners = JSON.parse(process.argv[2]);
const log = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);

await Promise.all(
  listeners.map(
    (l) =>
      new Promise((resolve, reject) => {
        if (l.proto === 'udp') {
          const sock = dgram.createSocket({ type: l.host.includes(':') ? 'udp6' : 'udp4', ipv6Only: l.host.includes(':') });
          sock.on('message', (m, rinfo) => {
            log({ event: 'datagram', port: l.port, from: rinfo.address });
            sock.send(m, rinfo.port, rinfo.address);
          });
          sock.on('error', reject);
          sock.bind(l.port, l.host, resolve);
        } else {
          const srv = net.createServer((c) => {
            log({ event: 'connection', port: l.port, from: c.remoteAddress });
            c.on('error', () => {});
            c.pipe(c);
          });
          srv.on('error', reject);
          srv.listen({ port: l.port, host: l.host, ipv6Only: l.host.includes(':') }, resolve);
        }
      }),
  ),
);
log({ event: 'ready' });
process.stdout.write('READY\n');
