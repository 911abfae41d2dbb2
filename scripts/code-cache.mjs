// Makes the bundle's V8 code cache (see bin/bundle-loader.js): loads the bundle, runs the CLI on
// the example policy the way a boot applies it, minus the kernel (`apply --dry-run`), then
// `compile` and `check`, and saves the bytecode of every function that ran. Functions that did not
// run (the netlink send, the state files) still compile on first use, as they would without a
// cache (measured: covering them too made no difference to `apply`).
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import process from 'node:process';
import { URL } from 'node:url';

const { CODE_CACHE, loadBundle } = createRequire(import.meta.url)('../bin/bundle-loader.js');

const EXAMPLE = new URL('../examples/browser-proxy.yaml', import.meta.url).pathname;
const WARM_UP = [
  ['apply', '--dry-run', '--no-module', EXAMPLE],
  ['compile', EXAMPLE],
  ['check', EXAMPLE],
];

export async function writeCodeCache() {
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
  writeFileSync(CODE_CACHE, bundle.makeCache());
}
