// The interval shape of the per-packet benchmark: N entries of address prefixes × port ranges,
// which land in the interval maps (the exact shape, bench/generate.ts, lands in the exact maps).
// Every rule has 10 prefixes × 10 port entries (8 ranges of 10 ports, 1 single port, 1 UDP
// range); 3 rules of 4 are IPv4, the 4th IPv6, so the IPv4 map the loadgen's traffic looks up
// holds three quarters of the entries. Prefixes come from the documentation ranges (IPv4 /28s,
// /29s and /30s, 192.0.2.0/28 left out for the loadgen's veth pair; IPv6 /64s of 2001:db8::/32),
// 10 to a group; a group is reused with the next ports, so no two entries overlap. Port slots
// and apps are shuffled (a fixed permutation): in order, whole runs of ports would share one
// address → label set and every layout would fold them into a few elements, which a real
// policy of that size would not.

const IPV4_PREFIXES = [
  ...Array.from({ length: 15 }, (_, i) => `192.0.2.${16 * (i + 1)}/28`),
  ...Array.from({ length: 32 }, (_, i) => `198.51.100.${8 * i}/29`),
  ...Array.from({ length: 64 }, (_, i) => `203.0.113.${4 * i}/30`),
];
const IPV4_GROUPS = Math.floor(IPV4_PREFIXES.length / 10);
const IPV6_GROUPS = 100;
const FIRST_PORT = 1024;

const ipv4Group = (g: number): string[] => IPV4_PREFIXES.slice(g * 10, g * 10 + 10);
const ipv6Group = (g: number): string[] => Array.from({ length: 10 }, (_, i) => `2001:db8:${(g + 1).toString(16)}:${i.toString(16)}::/64`);

const PORT_SLOTS = 6000;
/** A fixed pseudo-random permutation of 0..n-1 (an LCG-driven Fisher-Yates shuffle). */
function permutation(n: number, seed: number): Int32Array {
  const p = Int32Array.from({ length: n }, (_, i) => i);
  let x = seed;
  for (let i = n - 1; i > 0; i--) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const j = x % (i + 1);
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}
const SLOTS = permutation(PORT_SLOTS, 16);

/** The 10 port entries of cycle `c` (each group of prefixes gets each cycle's ports once). */
function portEntries(c: number): string[] {
  return Array.from({ length: 10 }, (_, i) => {
    const from = FIRST_PORT + SLOTS[(c * 10 + i) % PORT_SLOTS]! * 10;
    if (i === 8) return `tcp/${from}`;
    return `${i === 9 ? 'udp' : 'tcp'}/${from}-${from + 9}`;
  });
}

const rule = (to: readonly string[], ports: readonly string[]): string => `      - to: [${to.join(', ')}]\n        ports: [${ports.join(', ')}]`;

/**
 * A policy of exactly `entries` interval entries over 10 apps (`extraApps` first, as in
 * generatePolicy); the last block of a size that is not a multiple of 100 is cut short.
 */
export function intervalPolicy(entries: number, extraApps = ''): string {
  const apps: string[][] = Array.from({ length: 10 }, () => []);
  const count = { ipv4: 0, ipv6: 0 };
  for (let r = 0, left = entries; left > 0; r++, left -= 100) {
    const family = r % 4 === 3 ? 'ipv6' : 'ipv4';
    const k = count[family]++;
    const groups = family === 'ipv4' ? IPV4_GROUPS : IPV6_GROUPS;
    const prefixes = (family === 'ipv4' ? ipv4Group : ipv6Group)(k % groups);
    const ports = portEntries(Math.floor(k / groups));
    const app = apps[(Math.imul(r, 2654435761) >>> 7) % 10]!;
    if (left >= 100) {
      app.push(rule(prefixes, ports));
      continue;
    }
    const rows = Math.floor(left / 10);
    if (rows) app.push(rule(prefixes.slice(0, rows), ports));
    if (left % 10) app.push(rule([prefixes[rows]!], ports.slice(0, left % 10)));
  }
  const body = apps
    .map((rules, i) => (rules.length ? `  app${i}:\n    domain: bench${i}_t\n    connect:\n${rules.join('\n')}` : ''))
    .filter(Boolean)
    .join('\n');
  return `version: 1\ntable: secmarkc_bench\nunlabeled: allow\nneighbour_discovery: []\napps:\n${extraApps}${body}\n`;
}

/**
 * The per-packet loadgen's destinations (127.0.0.1, the veth peer 192.0.2.2; tcp and udp 5001)
 * as interval entries, 4 of the N, so its connections are looked up in the interval map.
 */
export const LOADGEN_INTERVAL_APP = `  loadgen:\n    domain: loadgen_t\n    connect:\n      - to: [127.0.0.0/8, 192.0.2.0/30]\n        ports: [tcp/5001-5002, udp/5001-5002]\n`;
