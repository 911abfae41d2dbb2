// The package as an administrator installs it: `npm pack` of the built tree, `npm install -g`
// of the tarball into an empty prefix with a PATH that has node and npm but no compiler, no make
// and no cmake, then the installed `secmarkc` run: --version, check, and apply --no-lsm in a
// private network namespace, where nft must see the table. The pack skips the lifecycle scripts
// (prepare would rebuild dist/ and the code caches): it packs the tree as built, and the test
// checks what went in. Needs the prebuilds (npm run build:prebuilds; .ci/run makes them).

import test from 'ava';
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './helpers/cli.js';
import { NFT } from './helpers/namespace.js';

const NEEDED = [
  'dist/bundle/secmarkc.cjs',
  'prebuilds/linux-x64/secmarkc.glibc.node',
  'prebuilds/linux-arm64/secmarkc.glibc.node',
  'prebuilds/linux-x64/bin/secmarkc-boot',
  'prebuilds/linux-arm64/bin/secmarkc-boot',
];
const missing = NEEDED.filter((file) => !existsSync(join(ROOT, file)));
// A clone after `npm ci` has no prebuilds: skipped there, with the reason; CI builds them first,
// and there a missing one fails the test.
const skip =
  process.getuid?.() !== 0
    ? 'needs root (apply in a private network namespace)'
    : missing.length && process.env.CI !== 'true'
      ? `no prebuilt addons (${missing.join(', ')}): run npm run build:prebuilds (needs g++-aarch64-linux-gnu)`
      : undefined;
const rootTest = skip ? test.skip : test;
const skipped = skip ? ` [skipped: ${skip}]` : '';
const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
const UNSHARE = ['/usr/bin/unshare', '/bin/unshare'].find((p) => existsSync(p)) ?? 'unshare';
const COMPILERS = ['cc', 'gcc', 'c++', 'g++', 'clang', 'make', 'cmake', 'python3'];

/** A bin directory with only what npm and node need: node, npm, sh. */
function minimalBin(dir: string): string {
  const bin = join(dir, 'bin-min');
  mkdirSync(bin);
  const which = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
  for (const tool of ['node', 'npm', 'sh']) {
    const path = tool === 'node' ? process.execPath : which(tool);
    if (!path) throw new Error(`${tool} not found on PATH`);
    symlinkSync(path, join(bin, tool));
  }
  return bin;
}

/** The environment without npm's variables from the npm that runs the tests (prefix, scripts). */
function cleanEnv(path: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!/^npm_/i.test(key) && key !== 'NODE_OPTIONS' && key !== 'INIT_CWD') env[key] = value;
  env.PATH = path;
  return env;
}

const run = (command: string, args: readonly string[], options: SpawnSyncOptions) => {
  const r = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  return { status: r.status, stdout: String(r.stdout), stderr: String(r.stderr), error: r.error };
};

rootTest(`the packed tarball installs and runs on a PATH without a compiler, make or cmake${skipped}`, (t) => {
  t.timeout(110_000);
  if (missing.length) return t.fail(`the tree is not built (${missing.join(', ')}): run npm run build:ts and npm run build:prebuilds`);
  const dir = mkdtempSync(join(tmpdir(), 'secmarkc-install-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));

  // The tarball and what it holds: what runs, nothing else.
  const pack = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT, env: cleanEnv(process.env.PATH ?? '') });
  t.is(pack.status, 0, pack.stderr);
  const [{ filename, files }] = JSON.parse(pack.stdout) as [{ filename: string; files: { path: string }[] }];
  const paths = files.map((f) => f.path);
  for (const file of [...NEEDED, 'bin/secmarkc.js', 'bin/bundle-loader.js', 'dist/bundle/secmarkc.cjs.cache', 'examples/browser-proxy.yaml', 'packaging/systemd/secmarkc.service', 'schema/policy.schema.json']) {
    t.true(paths.includes(file), `${file} is in the package`);
  }
  t.deepEqual(
    paths.filter((p) => /^(dist\/(?!bundle\/)|src\/|test\/|scripts\/|bench\/|vm-tests\/|build\/|node_modules\/)|CMakeLists\.txt$|\.ts$/.test(p)),
    [],
    'no unbundled dist/, sources, tests or CMake files',
  );

  // The PATH npm and the installed CLI get: node, npm and sh only.
  const bin = minimalBin(dir);
  const env = cleanEnv(bin);
  for (const tool of COMPILERS) t.not(run('sh', ['-c', `command -v ${tool}`], { env }).status, 0, `${tool} is not on the test's PATH`);

  const prefix = join(dir, 'prefix');
  // As the README says: npm 11 matches --allow-scripts against a tarball's absolute path.
  const tarball = join(dir, filename);
  const install = run('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', '--foreground-scripts', `--allow-scripts=${tarball}`, tarball], { cwd: dir, env });
  t.is(install.status, 0, install.stderr);
  t.notRegex(install.stderr, /install-scripts/, 'no install script is left unreviewed');
  // --foreground-scripts: the install script's output is shown, so that it can be seen to have run and built nothing.
  t.regex(install.stdout, /> node native\/install\.mjs/, 'the install script ran');
  t.notRegex(install.stderr + install.stdout, /gyp|no prebuilt addon/, 'no source build was tried');
  const installed = join(prefix, 'lib/node_modules/secmarkc');
  t.false(existsSync(join(installed, 'build')), 'nothing was built');
  // Runtime dependencies are only what runs (the bundle carries the rest).
  t.deepEqual(readdirSync(join(installed, 'node_modules')).filter((name) => !name.startsWith('.')).sort(), ['node-addon-api', 'node-gyp-build', 'yaml']);

  const secmarkc = join(prefix, 'bin/secmarkc');
  const example = join(installed, 'examples/browser-proxy.yaml');
  const versionRun = run(secmarkc, ['--version'], { env });
  t.is(versionRun.status, 0, versionRun.stderr);
  t.is(versionRun.stdout, `${version}\n`);
  const check = run(secmarkc, ['check', example], { env });
  t.is(check.status, 0, check.stderr);

  // apply and read back inside one private network namespace.
  const state = join(dir, 'state');
  const inNamespace = (script: string) =>
    run(UNSHARE, ['-n', join(bin, 'sh'), '-c', script, 'sh', secmarkc, example, state, NFT], { env, cwd: dir });
  const applied = inNamespace('"$1" apply --no-lsm --state-dir "$3" "$2" && "$4" list table inet secmarkc && "$1" status --no-lsm --state-dir "$3"');
  t.is(applied.status, 0, applied.stderr);
  t.regex(applied.stderr + applied.stdout, /applied table inet secmarkc/);
  t.regex(applied.stdout, /^table inet secmarkc \{/m, 'nft sees the table');
  t.regex(applied.stdout, /counter browser_client/, 'status reads it back');

  // The unit's fast boot path: install-unit finds the prebuilt loader, no compiler needed.
  const unit = run(secmarkc, ['install-unit', '--dry-run', '--json', '--unit-dir', join(dir, 'unit'), '--state-dir', state, '--policy', example], { env });
  t.is(unit.status, 0, unit.stderr);
  const loader = (JSON.parse(unit.stdout) as { bootLoader: string | null }).bootLoader;
  t.is(loader, join(realpathSync(installed), `prebuilds/linux-${process.arch}/bin/secmarkc-boot`));
  t.regex((JSON.parse(unit.stdout) as { text: string }).text, /^ExecStart=\S+\/secmarkc-boot --state-dir /m);

  // Without a usable addon the commands that need no kernel still work; apply says how to build it.
  renameSync(join(installed, 'prebuilds'), join(installed, 'prebuilds.hidden'));
  const checkWithout = run(secmarkc, ['check', example], { env });
  t.is(checkWithout.status, 0, checkWithout.stderr);
  const applyWithout = inNamespace('"$1" apply --no-lsm --state-dir "$3" "$2"');
  t.is(applyWithout.status, 1);
  t.regex(applyWithout.stderr, /^secmarkc: native addon not found.*\n.*npm rebuild secmarkc/m);
  t.notRegex(applyWithout.stderr, /outcome of the batch is unknown/, 'nothing was sent, and apply knows it');
  t.notRegex(applyWithout.stderr, /^\s+at /m, 'no stack trace');
});
