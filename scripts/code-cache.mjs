// Makes the bundle's V8 code caches (see bin/bundle-loader.js): loads the bundle, runs the CLI on
// the example policy the way a boot applies it, minus the kernel (`apply --dry-run`), then
// `compile` and `check`, and saves the bytecode of every function that ran. Functions that did not
// run (the netlink send, the state files) still compile on first use, as they would without a
// cache (measured: covering them too made no difference to `apply`).
// V8 takes a cache only under the flags it was made with, so each flag set gets its own, made by
// a node started with those flags: none (a shell), and those of the systemd unit's ExecStart,
// read from packaging/systemd/secmarkc.service so that the two cannot drift apart. Measured (the
// example, `--jitless --no-expose-wasm`, 41 alternating runs each): check 180 ms CPU with its own
// cache, 200 ms with none or with the other flag set's cache (which V8 reads and refuses).
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';

const { codeCacheFor, loadBundle } = createRequire(import.meta.url)('../bin/bundle-loader.js');

const EXAMPLE = new URL('../examples/browser-proxy.yaml', import.meta.url).pathname;
const UNIT = new URL('../packaging/systemd/secmarkc.service', import.meta.url).pathname;
const WARM_UP = [
  ['apply', '--dry-run', '--no-module', EXAMPLE],
  ['compile', EXAMPLE],
  ['check', EXAMPLE],
];

/**
 * The node options of the unit's ExecStart (`[@BOOT_LOADER@]@NODE@ --jitless --no-expose-wasm
 * @SECMARKC@ ...`: node is secmarkc-boot's fallback when the unit has the fast path).
 */
export function unitNodeFlags() {
  const match = /^ExecStart=(?:@BOOT_LOADER@)?@NODE@((?: --[a-z][a-z0-9-]*)*) @SECMARKC@ /m.exec(readFileSync(UNIT, 'utf8'));
  if (!match) throw new Error(`${UNIT}: no ExecStart=@NODE@ [--flag ...] @SECMARKC@ line to take the node flags from`);
  return match[1].split(' ').filter(Boolean);
}

/** Warms up and writes the cache for this process's own flags. */
async function writeOwnCache() {
  const bundle = loadBundle({ useCache: false });
  const write = process.stdout.write;
  const exitCode = process.exitCode;
  try {
    process.stdout.write = () => true;
    for (const args of WARM_UP) await bundle.exports.main(['node', 'secmarkc', ...args]);
  } finally {
    process.stdout.write = write;
  }
  if (process.exitCode !== exitCode) throw new Error(`the warm-up run of the bundle failed (exit code ${process.exitCode})`);
  writeFileSync(codeCacheFor(), bundle.makeCache());
}

/** One cache per flag set: a child node started with those flags makes each. */
export async function writeCodeCache() {
  for (const flags of [[], unitNodeFlags()]) {
    const run = spawnSync(process.execPath, [...flags, fileURLToPath(import.meta.url)], { stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' });
    // V8 says on stderr that --jitless turns off wasm ("disabling flag --expose_wasm"): expected.
    const stderr = run.stderr.replace(/^Warning: disabling flag --expose_wasm due to conflicting flags\n/m, '');
    process.stderr.write(stderr);
    if (run.status !== 0) throw new Error(`making the code cache for node ${flags.join(' ')} failed (exit ${run.status ?? run.signal})`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await writeOwnCache();
