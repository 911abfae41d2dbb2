// Differential test of map layouts (issue 16): the same connections must get the same label from
// secmarkc's concatenated interval maps (one pipapo set keyed address . protocol . port) and from
// each candidate layout of bench/packet/layouts.ts (a protocol/port dispatch ahead of one-field
// address interval maps, or an address dispatch ahead of protocol . port maps). All tables are
// loaded side by side in one private namespace (counter objects stand in for secmark objects)
// and see the same packets: one new connection per probe, out of a veth device whose peer is down, sampled from the
// policy's elements and around their edges (first and last address and port, one before, one
// after, the other protocol), both families. Output direction only: the probes are connections
// this host opens (the serve maps are built by the same code).

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LAYOUTS, layoutNftText } from '../bench/packet/layouts.js';
import { intervalPolicy } from '../bench/packet/interval-shape.js';
import { compilePolicy } from '../src/compile/compile.js';
import type { Ruleset } from '../src/compile/ir.js';
import { withCounterObjects } from '../src/compile/substitute.js';
import { emitNftText } from '../src/emit/nft-text.js';
import { bytesToBigint, formatAddress } from '../src/policy/address.js';
import type { Probe, ProbeInput } from './helpers/label-probe.js';
import { nsTest, nsTitle, SYSTEM_PATH } from './helpers/namespace.js';

const EDGES = `version: 1
table: layout_diff
unlabeled: allow
neighbour_discovery: []
apps:
  web:
    domain: web_t
    connect:
      - to: [198.51.100.0/25, 2001:db8:1::/48]
        ports: [tcp/80, tcp/443, tcp/8000-8099, udp/53]
      # inside the entry above with the same label: dropped by the compiler
      - to: [198.51.100.64/26]
        ports: [tcp/8050-8059]
  mail:
    domain: mail_t
    connect:
      # the neighbouring addresses, the same ports, another label
      - to: [198.51.100.128/25]
        ports: [tcp/25, tcp/8000-8099]
      # web's addresses, the neighbouring ports, another label
      - to: [198.51.100.0/25]
        ports: [tcp/8100-8199]
      - to: [203.0.113.10-203.0.113.20]
        ports: [udp/1000-2000]
      - to: [2001:db8:1::/48]
        ports: [tcp/25, udp/54-60]
  db:
    domain: db_t
    connect:
      - to: [203.0.113.7, 2001:db8:2::5]
        ports: [tcp/5432]
      - to: [203.0.113.0/24, 2001:db8:2::/64]
        ports: [tcp/6000-6010, icmp]
`;

const DOCUMENTATION: Record<'ipv4' | 'ipv6', [bigint, bigint][]> = {
  ipv4: [
    [0xc0000200n, 0xc00002ffn],
    [0xc6336400n, 0xc63364ffn],
    [0xcb007100n, 0xcb0071ffn],
  ],
  ipv6: [[0x20010db8n << 96n, ((0x20010db8n + 1n) << 96n) - 1n]],
};
/** The probe's own addresses (label-probe.ts): sent from, never probed. */
const OWN = new Set(['192.0.2.254', '2001:db8:ffff:ffff::1']);

function compiled(policy: string): Ruleset {
  const c = compilePolicy(policy, 'diff.yaml');
  if (!c.ok) throw new Error(`test policy does not compile: ${c.diagnostics.map((d) => d.message).join('; ')}`);
  return withCounterObjects(c.compiled.ruleset);
}

/** Connections around each element of the output chain's maps (every `step`-th element). */
function probesOf(ruleset: Ruleset, step = 1): Probe[] {
  const out = new Map<string, Probe>();
  const output = ruleset.chains.find((c) => c.hook === 'output')!;
  const looked = new Set(output.rules.flatMap((r) => r.statements.flatMap((s) => (s.kind === 'objref-map' ? [s.map] : []))));
  for (const map of ruleset.maps.filter((m) => looked.has(m.name) && m.key.length === 3)) {
    map.elements.forEach((element, i) => {
      if (i % step !== 0) return;
      const [addr, proto, port] = element.parts;
      if (addr?.kind !== 'addr' || proto?.kind !== 'proto' || port?.kind !== 'port') return;
      const name = proto.value === 6 ? 'tcp' : proto.value === 17 ? 'udp' : undefined;
      if (!name) return;
      const start = bytesToBigint(addr.start);
      const end = bytesToBigint(addr.end);
      const addrs = [start, end, start - 1n, end + 1n, (start + end) / 2n].filter((a) => DOCUMENTATION[addr.family].some(([lo, hi]) => lo <= a && a <= hi));
      const ports = [port.from, port.to, port.from - 1, port.to + 1].filter((p) => p >= 1 && p <= 65535);
      for (const a of addrs) {
        const text = formatAddress(addr.family, a);
        if (OWN.has(text)) continue;
        for (const [p, protoName] of [...ports.map((p) => [p, name] as const), [port.from, name === 'tcp' ? 'udp' : 'tcp'] as const]) {
          out.set(`${text} ${protoName} ${p}`, { family: addr.family, addr: text, proto: protoName, port: p });
        }
      }
    });
  }
  return [...out.values()];
}

const PROBE_SCRIPT = fileURLToPath(new URL('./helpers/label-probe.ts', import.meta.url));

/** The label of every probe under each table, by the kernel. */
function probeLabels(input: ProbeInput): string[][][] {
  const r = spawnSync('unshare', ['-n', process.execPath, '--import=tsx', PROBE_SCRIPT], {
    input: JSON.stringify(input),
    encoding: 'utf8',
    env: { ...process.env, PATH: SYSTEM_PATH },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`label-probe failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as string[][][];
}

function differential(ruleset: Ruleset, probes: readonly Probe[]) {
  const tables = ['diff_concat', ...LAYOUTS.filter((l) => l !== 'concat').map((l) => `diff_${l.replace(/-/g, '_')}`)];
  const scripts = [emitNftText({ ...ruleset, table: tables[0]! }), ...LAYOUTS.filter((l) => l !== 'concat').map((l, i) => layoutNftText({ ...ruleset, table: tables[i + 1]! }, l))];
  const labels = probeLabels({ scripts, tables, probes });
  const disagreements = probes.flatMap((probe, k) =>
    tables.slice(1).flatMap((table, i) => {
      const mine = labels[k]![i + 1]!;
      const reference = labels[k]![0]!;
      return mine.join(',') === reference.join(',') ? [] : [`${probe.proto} ${probe.addr} port ${probe.port}: ${tables[0]} ${reference.join(',') || 'none'}, ${table} ${mine.join(',') || 'none'}`];
    }),
  );
  const reference = labels.map((l) => l[0]!);
  return {
    summary: `${probes.length} probes × ${tables.length - 1} layouts against ${tables[0]}`, disagreements, labelled: reference.filter((l) => l.length === 1).length, unlabelled: reference.filter((l) => l.length === 0).length, multiple: reference.filter((l) => l.length > 1).length, objects: new Set(reference.flat()) };
}

nsTest(nsTitle('every candidate layout labels the edge-case policy\'s connections as the concatenated maps do'), (t) => {
  const ruleset = compiled(EDGES);
  const probes = probesOf(ruleset);
  t.true(probes.some((p) => p.family === 'ipv6') && probes.some((p) => p.family === 'ipv4'));
  const result = differential(ruleset, probes);
  t.log(`${result.summary}: ${result.labelled} labelled, ${result.unlabelled} unlabelled`);
  t.deepEqual(result.disagreements, []);
  // Not vacuous: both labelled and unlabelled connections, of every app, and one label at most.
  t.true(result.labelled > 20, `${result.labelled} labelled probes`);
  t.true(result.unlabelled > 20, `${result.unlabelled} unlabelled probes`);
  t.is(result.multiple, 0);
  t.deepEqual([...result.objects].sort(), ['db_client', 'mail_client', 'web_client']);
});

nsTest(nsTitle('every candidate layout labels a sample of a 2,000-entry interval policy as the concatenated maps do'), (t) => {
  const ruleset = compiled(intervalPolicy(2000));
  const probes = probesOf(ruleset, 7);
  const result = differential(ruleset, probes);
  t.log(`${result.summary}: ${result.labelled} labelled, ${result.unlabelled} unlabelled`);
  t.deepEqual(result.disagreements, []);
  t.true(result.labelled > 100, `${result.labelled} labelled probes`);
  t.true(result.unlabelled > 100, `${result.unlabelled} unlabelled probes`);
  t.is(result.multiple, 0);
});
