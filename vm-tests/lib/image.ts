// Guest image cache: hash the recipe (vm-tests/image/*), build on a miss with build.sh into a
// temporary folder beside the cache entry and rename it into place, so an interrupted build
// never leaves a half-built entry behind.
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, openSync, closeSync, utimesSync } from 'node:fs';
import { join } from 'node:path';

export interface GuestImage {
  dir: string;
  hash: string;
  kernel: string;
  initrd: string;
  rootfs: string;
  /** Contents of build.json written by build.sh. */
  info: Record<string, unknown>;
  built: boolean;
  buildMs: number;
}

export function cacheRoot(): string {
  if (process.env.SMC_VM_CACHE) return process.env.SMC_VM_CACHE;
  if (process.getuid?.() === 0) return '/var/cache/secmarkc-vm';
  const xdg = process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? '/tmp', '.cache');
  return join(xdg, 'secmarkc-vm');
}

/** sha256 over every recipe file's relative path and bytes, in sorted order. */
export function recipeHash(recipeDir: string): string {
  const h = createHash('sha256');
  for (const name of readdirSync(recipeDir).sort()) {
    const path = join(recipeDir, name);
    if (!statSync(path).isFile()) continue;
    h.update(`${name}\0`);
    h.update(readFileSync(path));
    h.update('\0');
  }
  return h.digest('hex').slice(0, 16);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Removes temporary build folders and locks left by builds whose process is gone. */
function sweep(root: string): void {
  for (const name of readdirSync(root)) {
    const m = /^\.(?:tmp|lock)-[0-9a-f]+-(\d+)$/.exec(name);
    if (m && !pidAlive(Number(m[1]))) rmSync(join(root, name), { recursive: true, force: true });
  }
}

/** Keeps the `keep` most recently used images, removes older ones. */
function prune(root: string, current: string, keep = 2): void {
  const entries = readdirSync(root)
    .filter((n) => /^[0-9a-f]{16}$/.test(n) && n !== current && existsSync(join(root, n, 'build.json')))
    .map((n) => ({ n, t: statSync(join(root, n, 'build.json')).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  for (const { n } of entries.slice(keep - 1)) rmSync(join(root, n), { recursive: true, force: true });
}

function load(dir: string, hash: string, built: boolean, buildMs: number): GuestImage {
  const infoPath = join(dir, 'build.json');
  const now = new Date();
  utimesSync(infoPath, now, now); // marks it recently used for prune()
  return {
    dir,
    hash,
    kernel: join(dir, 'vmlinuz'),
    initrd: join(dir, 'initrd.img'),
    rootfs: join(dir, 'root.ext4'),
    info: JSON.parse(readFileSync(infoPath, 'utf8')) as Record<string, unknown>,
    built,
    buildMs,
  };
}

function runBuild(script: string, out: string, debs: string, log: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script, out, debs], { stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue;
        tail.push(line);
        if (tail.length > 40) tail.shift();
        if (line.startsWith('[build')) log(line);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`image build failed (exit ${code}):\n${tail.join('\n')}`));
    });
  });
}

export async function ensureImage(recipeDir: string, opts: { rebuild?: boolean; log: (line: string) => void }): Promise<GuestImage> {
  const root = cacheRoot();
  mkdirSync(root, { recursive: true });
  sweep(root);
  const hash = recipeHash(recipeDir);
  const dir = join(root, hash);
  if (opts.rebuild) rmSync(dir, { recursive: true, force: true });
  if (existsSync(join(dir, 'build.json'))) return load(dir, hash, false, 0);

  // One builder per recipe: others wait for it rather than build the same thing twice.
  const lockPrefix = `.lock-${hash}-`;
  const lock = join(root, `${lockPrefix}${process.pid}`);
  for (;;) {
    const holder = readdirSync(root).find((n) => n.startsWith(lockPrefix));
    if (!holder) break;
    const pid = Number(holder.slice(lockPrefix.length));
    if (!pidAlive(pid)) {
      rmSync(join(root, holder), { force: true });
      continue;
    }
    opts.log(`waiting for build by pid ${pid}`);
    await new Promise((r) => setTimeout(r, 5000));
    if (existsSync(join(dir, 'build.json'))) return load(dir, hash, false, 0);
  }
  closeSync(openSync(lock, 'wx'));
  const tmp = join(root, `.tmp-${hash}-${process.pid}`);
  const t0 = Date.now();
  try {
    rmSync(tmp, { recursive: true, force: true });
    await runBuild(join(recipeDir, 'build.sh'), tmp, join(root, 'debs'), opts.log);
    writeFileSync(join(tmp, 'recipe-hash'), `${hash}\n`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    rmSync(lock, { force: true });
  }
  prune(root, hash);
  return load(dir, hash, true, Date.now() - t0);
}
