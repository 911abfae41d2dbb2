// package.json "install" (and `npm run build:native`): the addon a package install needs.
// Nothing to do when the loader (node-gyp-build, as src/native.ts uses it) finds an addon that
// loads: a prebuilt one from prebuilds/ (linux-x64 and linux-arm64 glibc ship in the package) or
// an earlier source build in build/Release. Otherwise, and always with --build-from-source
// (npm_config_build_from_source=true), this builds binding.gyp from source with node-gyp: the
// fallback for other machines (musl, riscv64, ...), which needs python3, make and a C++ compiler.
// A failed fallback build warns but fails no install: the commands that never talk to the kernel
// (check, compile, learn, explain, ports) work without the addon, and the others say how to build
// it. Only an explicit --build-from-source fails on a failed build.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBootLoader } from './build-boot.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const forced = process.argv.includes('--build-from-source') || process.env.npm_config_build_from_source === 'true';

if (!forced) {
  try {
    require('node-gyp-build')(root);
    process.exit(0);
  } catch {
    // No addon matches or loads here: build one.
  }
}

/** node-gyp: the pinned devDependency in a clone (node-gyp@12), else the one npm runs scripts with. */
function findNodeGyp() {
  try {
    return require.resolve('node-gyp/bin/node-gyp.js');
  } catch {
    return process.env.npm_config_node_gyp;
  }
}

function build() {
  const nodeGyp = findNodeGyp();
  if (!nodeGyp) return 'node-gyp not found (run the build through npm, or install node-gyp)';
  const args = ['rebuild'];
  // Node's headers beside the running node (Debian/NodeSource: /usr/include/node; official
  // tarballs: <prefix>/include/node) are used as they are, so nothing is downloaded; otherwise
  // (and unless npm's nodedir is set) node-gyp fetches the headers of this Node version.
  const prefix = path.resolve(process.execPath, '..', '..');
  if (!process.env.npm_config_nodedir && existsSync(path.join(prefix, 'include', 'node', 'common.gypi'))) {
    args.push(`--nodedir=${prefix}`);
  }
  const run = spawnSync(process.execPath, [nodeGyp, ...args], { cwd: root, stdio: 'inherit' });
  if (run.error) return run.error.message;
  return run.status === 0 ? undefined : `node-gyp exited with ${run.status ?? run.signal}`;
}

const failure = build();
// After node-gyp (its rebuild empties build/): the boot loader, build/bin/secmarkc-boot. Without
// it, install-unit renders the unit without the fast boot path, and says so.
const bootFailure = buildBootLoader(path.join(root, 'build'));
if (bootFailure) {
  process.stderr.write(`secmarkc: the boot loader (native/secmarkc-boot.cc) did not build (${bootFailure}): the unit will run the full apply at boot\n`);
}
if (failure) {
  process.stderr.write(
    `secmarkc: no prebuilt addon for ${process.platform}-${process.arch} and the source build failed (${failure}).\n` +
      'secmarkc: check, compile, learn, explain and ports work without it; apply, remove and status need it:\n' +
      'secmarkc: install python3, make and a C++ compiler, then run `npm rebuild secmarkc` (with -g for a global install).\n',
  );
  if (forced) process.exit(1);
}
if (forced && bootFailure) process.exit(1);
