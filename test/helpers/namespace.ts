// Kernel tests run in private network namespaces (unshare -n), never in the host's.
// When that is impossible (not root, no nft), they are skipped with the reason in the title.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import test, { type TestFn } from 'ava';

/**
 * nft(8) by absolute path: npm puts node_modules/.bin first on PATH, and a dependency ships an
 * unrelated `nft` there (@vercel/nft). Scripts run by inFreshNamespace get a PATH with it first.
 */
export const NFT = ['/usr/sbin/nft', '/sbin/nft', '/usr/bin/nft'].find((p) => existsSync(p)) ?? 'nft';
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function probe(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root for a private network namespace';
  const nft = spawnSync(NFT, ['--version'], { encoding: 'utf8' });
  if (nft.status !== 0) return 'needs nft(8) (Debian package nftables)';
  const ns = spawnSync('unshare', ['-n', NFT, 'list', 'ruleset'], { encoding: 'utf8' });
  if (ns.status !== 0) return `unshare -n failed: ${ns.stderr.trim()}`;
  return undefined;
}

export const namespaceSkipReason = probe();

/** `test` when namespaces work, else `test.skip` — use with `nsTitle` so the reason shows. */
export const nsTest: TestFn = namespaceSkipReason ? (test.skip as unknown as TestFn) : test;

export function nsTitle(title: string): string {
  return namespaceSkipReason ? `${title} [skipped: ${namespaceSkipReason}]` : title;
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Run a shell script inside a fresh network namespace, with `input` on stdin. */
export function inFreshNamespace(script: string, input = ''): RunResult {
  const env = { ...process.env, PATH: SYSTEM_PATH };
  const r = spawnSync('unshare', ['-n', 'sh', '-c', script], { input, env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

type Json = Record<string, unknown>;

/** `nft -j` output without what only the kernel knows (handles, metainfo); set elements sorted. */
export function normaliseNftJson(objects: unknown[]): unknown[] {
  return objects
    .filter((o) => !(o as Json).metainfo)
    .map((o) => {
      const [kind, body] = Object.entries(o as Json)[0] as [string, Json];
      const copy: Json = { ...body };
      delete copy.handle;
      if (Array.isArray(copy.elem)) copy.elem = [...copy.elem].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
      return { [kind]: copy };
    });
}
