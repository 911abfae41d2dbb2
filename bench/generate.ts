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
