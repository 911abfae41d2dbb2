// Runs the bundled CLI (dist/bundle/secmarkc.cjs, one CommonJS file) with V8's code cache.
// Node 20 has no compile cache of its own: every start parses the bundle and compiles each
// function on first call, which costs a cold `secmarkc apply` more than the kernel does. The
// build (scripts/code-cache.mjs) runs the CLI once on the example policy and saves V8's bytecode
// of everything that ran beside the bundle; here V8 takes it back instead of compiling. The cache
// starts with the sha256 of the bundle it was made from (V8 itself checks only the source's
// length); a cache that does not match, or that V8 refuses (another Node version, other V8
// flags), is ignored and the bundle compiles as it would without one. The cache is code: it is
// trusted exactly as far as the bundle beside it (same directory, same owner, written by the
// same build), never read from anywhere else. V8 takes a cache only from a process with the V8
// flags it was made under, so there is one per flag set the build knows (none, and the systemd
// unit's `--jitless --no-expose-wasm`), and the loader picks the one for this process's flags.
'use strict';

const { createHash } = require('node:crypto');
const { readFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const { dirname, join } = require('node:path');
const { setFlagsFromString } = require('node:v8');
const { Script } = require('node:vm');

const BUNDLE = join(__dirname, '..', 'dist', 'bundle', 'secmarkc.cjs');
const CODE_CACHE = `${BUNDLE}.cache`;
const DIGEST_BYTES = 32;

/**
 * V8's defaults suit long-running programs; a CLI that compiles one policy and exits pays for
 * them in fresh memory (page faults) it never earns back: TurboFan compiles of loops that would
 * have finished in the baseline tier, and a young generation that keeps doubling. So the
 * optimising compiler only takes functions that run ~60x longer than by default (the loops of
 * a policy of 100,000 entries still qualify), and the young generation keeps its initial size.
 * Measured in bench/RESULTS.md. Both flags are read only where V8 decides (a function's tier-up
 * budget, growing the new space), so setting them before the bundle loads is safe; they are part
 * of what the code cache is checked against, and the build sets them too (it loads through here).
 */
// Measured with Node 20's V8 (11.x) only; another V8 may have renamed them (and says so on stderr).
const V8_FLAGS = /^11\./.test(process.versions.v8) ? ['--interrupt-budget=4000000', '--semi-space-growth-factor=1'] : [];

/**
 * The code cache for a process started with these node options: of them, the plain `--name`
 * switches (V8's flags are such; `-e CODE`, `--import=X` are not) name the cache:
 * secmarkc.cjs.cache with none, secmarkc.cjs.jitless+no-expose-wasm.cache for the unit's
 * `--jitless --no-expose-wasm` (in any order). A switch that does not change V8's flags (say
 * `--trace-warnings`) only finds no cache; one that does, from NODE_OPTIONS too, makes V8 refuse
 * the cache: either way the bundle compiles as it would without one.
 */
function codeCacheFor(execArgv = process.execArgv) {
  const switches = execArgv.filter((arg) => /^--[a-z][a-z0-9-]*$/.test(arg));
  if (switches.length === 0) return CODE_CACHE;
  return `${BUNDLE}.${switches.map((arg) => arg.slice(2)).sort().join('+')}.cache`;
}

/** The same wrapper as Node's CommonJS loader: line numbers in stack traces stay right. */
const wrap = (source) => `(function (exports, require, module, __filename, __dirname) { ${source}\n});`;

function readCache(sourceDigest) {
  let cache;
  try {
    cache = readFileSync(codeCacheFor());
  } catch {
    return undefined;
  }
  if (cache.length <= DIGEST_BYTES || !cache.subarray(0, DIGEST_BYTES).equals(sourceDigest)) return undefined;
  return cache.subarray(DIGEST_BYTES);
}

/**
 * Compiles and runs the bundle: its exports (`main`, ...), whether the cache served, and (for the
 * build) the cache as it would be written now, after whatever has run.
 */
function loadBundle({ useCache = true } = {}) {
  for (const flag of V8_FLAGS) setFlagsFromString(flag);
  const bytes = readFileSync(BUNDLE);
  const sourceDigest = createHash('sha256').update(bytes).digest();
  const cachedData = useCache ? readCache(sourceDigest) : undefined;
  const script = new Script(wrap(bytes.toString('utf8')), { filename: BUNDLE, cachedData });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(BUNDLE), module, BUNDLE, dirname(BUNDLE));
  return {
    exports: module.exports,
    cacheUsed: cachedData !== undefined && !script.cachedDataRejected,
    makeCache: () => Buffer.concat([sourceDigest, script.createCachedData()]),
  };
}

module.exports = { BUNDLE, CODE_CACHE, V8_FLAGS, codeCacheFor, loadBundle };
