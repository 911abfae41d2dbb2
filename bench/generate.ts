// Synthetic policies of a given size for the benchmarks: exactly N (destination, port) entries
// spread over 10 apps, 100 entries (10 addresses × 10 ports) per connect rule (the last block of
// a size that is not a multiple of 100 is split in two rules), no overlaps. Addresses come from
// the IPv4 documentation ranges; nothing is ever sent to them. `extraApps` (YAML, indented as an
// entry of `apps:`) is put first, e.g. the per-packet benchmark's own loopback destination.
// `layout` changes the number of filler apps and their domains: the VM benchmark needs domains
// its guest has, and the same apps at every size (so one CIL module serves every size).

const BLOCKS = ['192.0.2', '198.51.100', '203.0.113'];
const ADDRESSES = BLOCKS.flatMap((b) => Array.from({ length: 256 }, (_, i) => `${b}.${i}`));
const ADDRESS_GROUPS = Math.floor(ADDRESSES.length / 10);

const ports = (from: number, count: number): string[] => Array.from({ length: count }, (_, i) => `tcp/${from + i}`);
const rule = (to: readonly string[], portList: readonly string[]): string =>
  `      - to: [${to.join(', ')}]\n        ports: [${portList.join(', ')}]`;

export interface Layout { apps: number; domain: (app: number) => string }
const HOST_LAYOUT: Layout = { apps: 10, domain: (i) => `bench${i}_t` };

export function generatePolicy(entries: number, unlabeled: 'allow' | 'audit' | 'deny' = 'allow', extraApps = '', layout = HOST_LAYOUT): string {
  const apps: string[][] = Array.from({ length: layout.apps }, () => []);
  for (let r = 0, left = entries; left > 0; r++, left -= 100) {
    const group = r % ADDRESS_GROUPS;
    const portBase = 1 + Math.floor(r / ADDRESS_GROUPS) * 10;
    const to = ADDRESSES.slice(group * 10, group * 10 + 10);
    const app = apps[r % layout.apps]!;
    if (left >= 100) {
      app.push(rule(to, ports(portBase, 10)));
      continue;
    }
    // The rest: full rows of 10 ports, then one address with the remaining ports.
    const rows = Math.floor(left / 10);
    if (rows) app.push(rule(to.slice(0, rows), ports(portBase, 10)));
    if (left % 10) app.push(rule([to[rows]!], ports(portBase, left % 10)));
  }
  const body = apps
    .map((rulesOfApp, i) => (rulesOfApp.length ? `  app${i}:\n    domain: ${layout.domain(i)}\n    connect:\n${rulesOfApp.join('\n')}` : ''))
    .filter(Boolean)
    .join('\n');
  return `version: 1\ntable: secmarkc_bench\nunlabeled: ${unlabeled}\nneighbour_discovery: []\napps:\n${extraApps}${body}\n`;
}

// The interval shape: exactly N (prefix, port range) entries, each one element of an interval
// (pipapo) map, no overlaps. 100 entries (10 prefixes × 10 tcp port ranges) per connect rule,
// over 10 apps. Prefixes: 40 IPv4 /29s (every other one of 192.0.2.0/24, 198.51.100.0/24 and
// 203.0.113.0/24) and 60 IPv6 /48s (every other one in 2001:db8::/32); ranges of 9 ports with a
// gap after each: nothing adjacent that a compiler or the kernel could merge into one interval.
const V4_PREFIXES = BLOCKS.flatMap((b) => Array.from({ length: 16 }, (_, i) => `${b}.${i * 16}/29`)).slice(0, 40);
const V6_PREFIXES = Array.from({ length: 60 }, (_, i) => `"2001:db8:${(i * 2).toString(16)}::/48"`);
const PREFIXES = [...V4_PREFIXES, ...V6_PREFIXES];
const PREFIX_GROUPS = PREFIXES.length / 10;
const RANGE_STRIDE = 10;

/** `count` tcp ranges of 9 ports from `from`, one every 10 ports. */
const portRanges = (from: number, count: number): string[] =>
  Array.from({ length: count }, (_, i) => `tcp/${from + i * RANGE_STRIDE}-${from + i * RANGE_STRIDE + 8}`);

export function generateIntervalPolicy(entries: number): string {
  const apps: string[][] = Array.from({ length: 10 }, () => []);
  for (let r = 0, left = entries; left > 0; r++, left -= 100) {
    const group = r % PREFIX_GROUPS;
    const portBase = 1 + Math.floor(r / PREFIX_GROUPS) * 10 * RANGE_STRIDE;
    if (portBase + 10 * RANGE_STRIDE > 65535) throw new Error(`generateIntervalPolicy: ${entries} entries need ports beyond 65535`);
    const to = PREFIXES.slice(group * 10, group * 10 + 10);
    const app = apps[r % 10]!;
    if (left >= 100) {
      app.push(rule(to, portRanges(portBase, 10)));
      continue;
    }
    const rows = Math.floor(left / 10);
    if (rows) app.push(rule(to.slice(0, rows), portRanges(portBase, 10)));
    if (left % 10) app.push(rule([to[rows]!], portRanges(portBase, left % 10)));
  }
  const body = apps
    .map((rulesOfApp, i) => (rulesOfApp.length ? `  app${i}:\n    domain: bench${i}_t\n    connect:\n${rulesOfApp.join('\n')}` : ''))
    .filter(Boolean)
    .join('\n');
  return `version: 1\ntable: secmarkc_bench\nunlabeled: allow\nneighbour_discovery: []\napps:\n${body}\n`;
}

/** The two shapes every table has a row for: exact (address, port) entries and prefixes × port ranges. */
export const SHAPES = { exact: (entries: number): string => generatePolicy(entries), interval: generateIntervalPolicy } as const;
export type Shape = keyof typeof SHAPES;
