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
  return policyText(apps, unlabeled, extraApps, layout);
}

function policyText(apps: readonly string[][], unlabeled: string, extraApps: string, layout: Layout): string {
  const body = apps
    .map((rulesOfApp, i) => (rulesOfApp.length ? `  app${i}:\n    domain: ${layout.domain(i)}\n    connect:\n${rulesOfApp.join('\n')}` : ''))
    .filter(Boolean)
    .join('\n');
  return `version: 1\ntable: secmarkc_bench\nunlabeled: ${unlabeled}\nneighbour_discovery: []\napps:\n${extraApps}${body}\n`;
}

// The interval shape: exactly N (prefix, port range) entries, every one an element of an interval
// map (connect4/connect6), none an exact one, no two overlapping (so none is dropped and the map
// holds N elements, as nft's does). Rules of 10 prefixes × 10 port ranges, over the same apps as
// generatePolicy. Every 10th rule's prefixes are IPv4: 20 disjoint prefixes /25../30 that fill
// the three IPv4 documentation /24s, used again with other port ranges; the other rules' are
// IPv6, one per /48 of 2001:db8::/32 (lengths /48../56 at the start of the /48), never reused.
// Port ranges: 10 per rule, widths 8-53 (each a few pipapo netmasks), in 64-port slots of a
// 640-port block; tcp, and udp for every third; IPv6 rules cycle over 100 blocks, IPv4 rules
// move to a fresh block each time their prefix group comes round again.

const IPV4_PREFIXES = BLOCKS.flatMap((b, n) => {
  const lengths = n < 2 ? [25, 26, 27, 28, 29, 30, 30] : [25, 26, 27, 28, 29, 29];
  let at = 0;
  return lengths.map((length) => {
    const prefix = `${b}.${at}/${length}`;
    at += 2 ** (32 - length);
    return prefix;
  });
});
const PORT_BLOCKS = 100;
const ipv6Prefix = (slot: number): string => `2001:db8:${slot.toString(16)}::/${48 + (slot % 9)}`;
const portRanges = (block: number, count: number): string[] =>
  Array.from({ length: count }, (_, j) => {
    const from = 1024 + block * 640 + j * 64;
    return `${j % 3 === 2 ? 'udp' : 'tcp'}/${from}-${from + 7 + 5 * j}`;
  });

/**
 * A policy of exactly `entries` interval-map elements (prefixes × port ranges, no overlaps); the
 * parameters as generatePolicy's. Up to 200,000 entries (the IPv4 prefixes' port blocks run out).
 */
export function generateIntervalPolicy(entries: number, unlabeled: 'allow' | 'audit' | 'deny' = 'allow', extraApps = '', layout = HOST_LAYOUT): string {
  const apps: string[][] = Array.from({ length: layout.apps }, () => []);
  let ipv4Rules = 0;
  let ipv6Rules = 0;
  for (let r = 0, left = entries; left > 0; r++, left -= 100) {
    let to: string[];
    let block: number;
    if (r % 10 === 0) {
      to = IPV4_PREFIXES.slice((ipv4Rules % 2) * 10, (ipv4Rules % 2) * 10 + 10);
      block = Math.floor(ipv4Rules++ / 2);
      if (block >= PORT_BLOCKS) throw new Error(`generateIntervalPolicy: at most 200,000 entries, not ${entries}`);
    } else {
      to = Array.from({ length: 10 }, (_, i) => ipv6Prefix(ipv6Rules * 10 + i));
      block = ipv6Rules++ % PORT_BLOCKS;
    }
    const app = apps[r % layout.apps]!;
    if (left >= 100) {
      app.push(rule(to, portRanges(block, 10)));
      continue;
    }
    const rows = Math.floor(left / 10);
    if (rows) app.push(rule(to.slice(0, rows), portRanges(block, 10)));
    if (left % 10) app.push(rule([to[rows]!], portRanges(block, left % 10)));
  }
  return policyText(apps, unlabeled, extraApps, layout);
}

export type PolicyShape = 'exact' | 'interval';

/** The benchmark policy of a shape: generatePolicy (exact) or generateIntervalPolicy. */
export function generateShapedPolicy(shape: PolicyShape, entries: number, unlabeled: 'allow' | 'audit' | 'deny' = 'allow', extraApps = '', layout = HOST_LAYOUT): string {
  return (shape === 'exact' ? generatePolicy : generateIntervalPolicy)(entries, unlabeled, extraApps, layout);
}
