// Where a slow start goes: one run under `node --cpu-prof`, self time summed per script (our
// dist/ files, each node_modules package, node's internals), largest first. Printed by
// bench/startup for commands well over bare node, as a lead for where to cut.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface CpuProfile {
  nodes: { id: number; callFrame: { url: string; functionName: string } }[];
  samples: number[];
  timeDeltas: number[];
}

/** Group a script URL: a package under node_modules, a file of ours, or node's own. */
function owner(url: string, root: string): string {
  const path = url.replace(/^file:\/\//, '');
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (pkg) return `package ${pkg[1]}`;
  if (path.startsWith(root)) return path.slice(root.length);
  return path.startsWith('node:') ? 'node internals' : path || '(native, GC, idle)';
}

export function profileSummary(args: readonly string[], root: string, top = 6): string {
  const dir = mkdtempSync(join(tmpdir(), 'secmarkc-prof-'));
  try {
    spawnSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, ...args], { stdio: 'ignore' });
    const [file] = readdirSync(dir);
    if (!file) return 'no profile written';
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
    const self = new Map<number, number>();
    profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
    const byOwner = new Map<string, number>();
    for (const n of profile.nodes) {
      const key = owner(n.callFrame.url, root);
      byOwner.set(key, (byOwner.get(key) ?? 0) + (self.get(n.id) ?? 0) / 1000);
    }
    return [...byOwner]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([who, ms]) => `${who} ${ms.toFixed(0)} ms`)
      .join(', ');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
