// Which label each connection gets, by the kernel: run under `unshare -n` (see probeLabels), it
// loads nft scripts (tables with counter objects standing in for secmark objects), then opens one
// new connection per probe (a UDP datagram, or a TCP SYN whose socket is closed at once) out of
// a veth device whose peer is down, and reads after each which counter objects of each table
// counted it. A table's "label" of a probe is the objects whose counters moved (none: unlabelled).
// Input on stdin: { scripts: string[], probes: Probe[] }; output on stdout: string[][] per probe,
// one label per table, in the order of `tables`.

import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import { NetfilterSession } from '../../src/apply/session.js';
import { encodeDumpObjects } from '../../src/netlink/requests.js';

export interface Probe { readonly family: 'ipv4' | 'ipv6'; readonly addr: string; readonly proto: 'tcp' | 'udp'; readonly port: number }
export interface ProbeInput { readonly scripts: readonly string[]; readonly tables: readonly string[]; readonly probes: readonly Probe[] }

const NFT = '/usr/sbin/nft';
const SENTINEL = 'label_probe_sentinel';
/** Counts every new tcp/udp connection on output, after our tables (priority 100): a probe is done when it moved. */
const SENTINEL_SCRIPT = `table inet ${SENTINEL} {\n\tcounter seen {\n\t}\n\tchain output {\n\t\ttype filter hook output priority 100; policy accept;\n\t\tct state new meta l4proto { tcp, udp } counter name "seen"\n\t}\n}\n`;

function run(args: readonly string[], input?: string): void {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8', ...(input === undefined ? {} : { input }) });
  if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.error?.message ?? r.stderr}`);
}

async function counters(session: NetfilterSession): Promise<Map<string, bigint>> {
  const out = new Map<string, bigint>();
  for (const m of await session.request(encodeDumpObjects({ seq: session.nextSeq() }), 'listing objects')) {
    if (m.kind === 'obj' && m.obj.data.kind === 'counter') out.set(`${m.obj.table}\0${m.obj.name}`, m.obj.data.packets);
  }
  return out;
}

async function send(probe: Probe): Promise<() => void> {
  if (probe.proto === 'udp') {
    const socket = createSocket(probe.family === 'ipv4' ? 'udp4' : 'udp6');
    await new Promise<void>((resolve, reject) => socket.send('x', probe.port, probe.addr, (error) => (error ? reject(error) : resolve())));
    return () => socket.close();
  }
  const socket = connect({ host: probe.addr, port: probe.port });
  socket.on('error', () => {});
  return () => socket.destroy();
}

async function main(): Promise<void> {
  const input = JSON.parse(readFileSync(0, 'utf8')) as ProbeInput;
  run(['ip', 'link', 'set', 'lo', 'up']);
  // A veth pair whose other end is down: what is sent out of probe0 goes nowhere (no dummy
  // device module on every kernel); no ARP or neighbour discovery holds it back either.
  run(['ip', 'link', 'add', 'probe0', 'type', 'veth', 'peer', 'name', 'probe1']);
  run(['ip', 'link', 'set', 'probe0', 'arp', 'off', 'up']);
  run(['ip', 'addr', 'add', '192.0.2.254/32', 'dev', 'probe0']);
  run(['ip', '-6', 'addr', 'add', '2001:db8:ffff:ffff::1/128', 'dev', 'probe0', 'nodad']);
  run(['ip', 'route', 'add', 'default', 'dev', 'probe0']);
  run(['ip', '-6', 'route', 'add', 'default', 'dev', 'probe0']);
  for (const script of [...input.scripts, SENTINEL_SCRIPT]) run([NFT, '-f', '-'], script);
  const session = NetfilterSession.open();
  const labels: string[][][] = [];
  try {
    let before = await counters(session);
    for (const probe of input.probes) {
      const seen = before.get(`${SENTINEL}\0seen`) ?? 0n;
      const close = await send(probe);
      let after = await counters(session);
      for (let i = 0; (after.get(`${SENTINEL}\0seen`) ?? 0n) === seen; i++) {
        if (i > 500) throw new Error(`probe ${JSON.stringify(probe)} was never seen on output`);
        await new Promise((r) => setTimeout(r, 2));
        after = await counters(session);
      }
      close();
      labels.push(
        input.tables.map((table) =>
          [...after]
            .filter(([key, packets]) => key.startsWith(`${table}\0`) && packets !== (before.get(key) ?? 0n))
            .map(([key]) => key.slice(table.length + 1))
            .sort(),
        ),
      );
      before = after;
    }
  } finally {
    session.close();
  }
  process.stdout.write(JSON.stringify(labels));
}

await main();
