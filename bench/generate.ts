// Synthetic policies of a given size for the benchmarks: N (destination, port) entries spread
// over 10 apps, 100 entries (10 addresses × 10 ports) per connect rule, no overlaps. Addresses
// come from the IPv4 documentation ranges; nothing is ever sent to them.

const BLOCKS = ['192.0.2', '198.51.100', '203.0.113'];
const ADDRESSES = BLOCKS.flatMap((b) => Array.from({ length: 256 }, (_, i) => `${b}.${i}`));
const ADDRESS_GROUPS = Math.floor(ADDRESSES.length / 10);

export function generatePolicy(entries: number, unlabeled: 'allow' | 'audit' | 'deny' = 'allow'): string {
  const rules = Math.ceil(entries / 100);
  const apps: string[][] = Array.from({ length: 10 }, () => []);
  for (let r = 0; r < rules; r++) {
    const group = r % ADDRESS_GROUPS;
    const portBase = 1 + Math.floor(r / ADDRESS_GROUPS) * 10;
    const to = ADDRESSES.slice(group * 10, group * 10 + 10);
    const ports = Array.from({ length: 10 }, (_, i) => `tcp/${portBase + i}`);
    apps[r % 10]!.push(`      - to: [${to.join(', ')}]\n        ports: [${ports.join(', ')}]`);
  }
  const body = apps
    .map((rulesOfApp, i) => (rulesOfApp.length ? `  app${i}:\n    domain: bench${i}_t\n    connect:\n${rulesOfApp.join('\n')}` : ''))
    .filter(Boolean)
    .join('\n');
  return `version: 1\ntable: secmarkc_bench\nunlabeled: ${unlabeled}\nneighbour_discovery: []\napps:\n${body}\n`;
}
