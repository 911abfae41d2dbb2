// The installed entry point: bin/secmarkc.js runs the one-file bundle with its V8 code cache
// (bin/bundle-loader.js, scripts/bundle.mjs). Each run is a child process started as a user
// would start it; the loader's checks are seen from outside (did the cache serve, which bytes ran).

import test from 'ava';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePolicy } from '../bench/generate.js';
import { ROOT } from './helpers/cli.js';

const BUNDLE = join(ROOT, 'dist/bundle/secmarkc.cjs');
const built = existsSync(BUNDLE);
const builtTest = built ? test : test.skip;
const notBuilt = built ? '' : ' [skipped: dist/bundle not built; run npm run build:ts]';
const EXAMPLE = join(ROOT, 'examples/browser-proxy.yaml');

const node = (args: readonly string[], cwd = ROOT) => spawnSync(process.execPath, args, { cwd, encoding: 'utf8' });
const cacheUsed = (root: string, flags: readonly string[] = []) =>
  node([...flags, '-e', `process.stdout.write(String(require(${JSON.stringify(join(root, 'bin/bundle-loader.js'))}).loadBundle().cacheUsed))`]);

/** A copy of the installed layout (bin/, dist/bundle/, package.json) to change without touching the build. */
function installedCopy(t: { teardown(fn: () => void): void }): string {
  const root = mkdtempSync(join(tmpdir(), 'secmarkc-bundle-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  cpSync(join(ROOT, 'bin'), join(root, 'bin'), { recursive: true });
  mkdirSync(join(root, 'dist'));
  cpSync(join(ROOT, 'dist/bundle'), join(root, 'dist/bundle'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(root, 'package.json'));
  return root;
}

test('--version answers from package.json', (t) => {
  const r = node([join(ROOT, 'bin/secmarkc.js'), '--version']);
  t.is(r.status, 0, r.stderr);
  t.is(r.stdout, `${(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version}\n`);
});

builtTest(`the build leaves a code cache that V8 takes${notBuilt}`, (t) => {
  const r = cacheUsed(ROOT);
  t.is(r.status, 0, r.stderr);
  t.is(r.stdout, 'true');
});

builtTest(`the systemd unit's node flags get a code cache of their own that V8 takes${notBuilt}`, async (t) => {
  const { unitNodeFlags } = await import('../scripts/code-cache.mjs');
  const flags = unitNodeFlags();
  t.true(flags.includes('--jitless'), flags.join(' '));
  t.true(existsSync(join(ROOT, `dist/bundle/secmarkc.cjs.${flags.map((f) => f.slice(2)).sort().join('+')}.cache`)));
  const r = cacheUsed(ROOT, flags);
  t.is(r.status, 0, r.stderr);
  t.is(r.stdout, 'true');
  // Without it, the unit's process runs without a cache (V8 takes no other); a plain node keeps its own.
  const root = installedCopy(t);
  rmSync(join(root, `dist/bundle/secmarkc.cjs.${flags.map((f) => f.slice(2)).sort().join('+')}.cache`));
  t.is(cacheUsed(root, flags).stdout, 'false');
  t.is(cacheUsed(root).stdout, 'true');
});

builtTest(`a cache made for other bytes of the same length is refused, and the new bytes run${notBuilt}`, (t) => {
  const root = installedCopy(t);
  const bundle = join(root, 'dist/bundle/secmarkc.cjs');
  const before = 'Per-application network filtering';
  const after = 'PER-APPLICATION network filtering';
  const text = readFileSync(bundle, 'utf8');
  t.true(text.includes(before));
  writeFileSync(bundle, text.replace(before, after));
  t.is(cacheUsed(root).stdout, 'false');
  const help = node([join(root, 'bin/secmarkc.js'), '--help'], root);
  t.is(help.status, 0, help.stderr);
  t.true(help.stdout.includes(after));
});

builtTest(`without a cache, or with a damaged one, the CLI still runs${notBuilt}`, (t) => {
  const root = installedCopy(t);
  const cache = join(root, 'dist/bundle/secmarkc.cjs.cache');
  const damaged = readFileSync(cache);
  damaged.fill(0x5a, 32, 256);
  writeFileSync(cache, damaged);
  t.is(cacheUsed(root).stdout, 'false');
  t.is(node([join(root, 'bin/secmarkc.js'), 'check', EXAMPLE], root).status, 0);
  rmSync(cache);
  t.is(cacheUsed(root).stdout, 'false');
  const r = node([join(root, 'bin/secmarkc.js'), 'check', EXAMPLE], root);
  t.is(r.status, 0, r.stderr);
});

builtTest(`output into a closed pipe ends quietly${notBuilt}`, (t) => {
  // Far more than a pipe holds (64 KiB), so the writer really meets the closed end.
  const dir = mkdtempSync(join(tmpdir(), 'secmarkc-pipe-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const policy = join(dir, 'big.yaml');
  writeFileSync(policy, generatePolicy(5000));
  const r = spawnSync('bash', ['-o', 'pipefail', '-c', `"${process.execPath}" bin/secmarkc.js compile "${policy}" | head -c 100 >/dev/null`], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  t.is(r.stderr, '');
  t.is(r.status, 0);
});
