// Kernel tests run in private network namespaces (unshare -n), never in the host's.
// When that is impossible (not root, no nft), they are skipped with the reason in the title.

import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, existsSync, openSync } from 'node:fs';
import test, { type TestFn } from 'ava';

/**
 * nft(8) by absolute path: npm puts node_modules/.bin first on PATH, and a dependency ships an
 * unrelated `nft` there (@vercel/nft). Scripts run by inFreshNamespace get a PATH with it first.
 */
export const NFT = ['/usr/sbin/nft', '/sbin/nft', '/usr/bin/nft'].find((p) => existsSync(p)) ?? 'nft';
/** A PATH without node_modules/.bin (see NFT), for the scripts tests run. */
export const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

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
/** nsTest for tests that must not run alongside the file's others. */
export const nsSerialTest = namespaceSkipReason ? test.serial.skip : test.serial;

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

/** A private network namespace held open for a whole test file (see holdNamespace). */
export interface HeldNamespace {
  /** The holder's PID: /proc/PID/ns/net is the namespace. */
  readonly pid: number;
  /** /proc/PID/ns/net, open: the addon's netnsFd. */
  readonly fd: number;
  /** nft(8) run in it. */
  nft(...args: string[]): RunResult;
}

/**
 * A private network namespace for the tests of a file, held open by a child `unshare -n` (`exec
 * sleep` keeps the PID; "ready" means unshare(2) has happened): `pid` and `fd` are set before the
 * first test, the fd closed and the holder killed after the last. AVA runs a file's `before`
 * hooks side by side: use them in tests and `beforeEach` hooks, not in another `before`. Call it
 * only when namespaceSkipReason is undefined.
 */
export function holdNamespace(): HeldNamespace {
  let pid = 0;
  let fd = -1;
  test.before(async () => {
    const holder = spawn('unshare', ['-n', 'sh', '-c', 'echo ready && exec sleep 3600'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [line] = (await once(holder.stdout, 'data')) as [Buffer];
    if (line.toString().trim() !== 'ready') throw new Error(`namespace holder said ${line.toString()}`);
    pid = holder.pid!;
    fd = openSync(`/proc/${pid}/ns/net`, 'r');
  });
  test.after.always(() => {
    if (fd >= 0) closeSync(fd);
    if (pid) process.kill(pid, 'SIGKILL');
  });
  return {
    get pid() {
      return pid;
    },
    get fd() {
      return fd;
    },
    nft(...args) {
      const r = spawnSync('nsenter', [`--net=/proc/${pid}/ns/net`, NFT, ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    },
  };
}

/**
 * inFreshNamespace without blocking the event loop: the tests of a file then run side by side
 * (most of their time is process start-up, which the second core can take).
 */
export function inFreshNamespaceAsync(script: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('unshare', ['-n', 'sh', '-c', script], { env: { ...process.env, PATH: SYSTEM_PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
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
