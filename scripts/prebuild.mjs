// npm run build:prebuilds: the prebuilt addons the package ships, made with prebuildify into
// prebuilds/linux-x64/secmarkc.glibc.node and prebuilds/linux-arm64/secmarkc.glibc.node
// (N-API 8: one file serves every Node version from 20 on). The machine's own architecture is
// built natively; the other by cross-compiling with Debian's <triplet>-g++ (g++-aarch64-linux-gnu,
// g++-x86-64-linux-gnu). Node's headers do not depend on the architecture: those beside the
// running node are used, so nothing is downloaded. test/native-prebuilds.test.ts checks the
// results (ELF machine, the N-API entry point, glibc versions, and loads the foreign one under
// qemu-user where it can). `node scripts/prebuild.mjs x64` builds one architecture only.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { buildBootLoader } from '../native/build-boot.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const prebuildify = createRequire(import.meta.url).resolve('prebuildify/bin.js');
const TRIPLETS = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' };
const arches = process.argv.length > 2 ? process.argv.slice(2) : Object.keys(TRIPLETS);

const env = { ...process.env };
const prefix = path.resolve(process.execPath, '..', '..');
if (!env.npm_config_nodedir && existsSync(path.join(prefix, 'include', 'node', 'common.gypi'))) {
  env.npm_config_nodedir = prefix;
}

for (const arch of arches) {
  const triplet = TRIPLETS[arch];
  if (!triplet) throw new Error(`prebuild: unknown architecture ${arch} (known: ${Object.keys(TRIPLETS).join(', ')})`);
  const archEnv = { ...env };
  if (arch !== process.arch) {
    Object.assign(archEnv, { CC: `${triplet}-gcc`, CXX: `${triplet}-g++`, PREBUILD_STRIP_BIN: `${triplet}-strip` });
  }
  rmSync(path.join(root, 'prebuilds', `${process.platform}-${arch}`), { recursive: true, force: true });
  // --napi: one build per architecture, named without an ABI; --tag-libc: glibc, so that a musl
  // system falls back to a source build instead of loading it; --target: this Node's headers
  // (prebuildify would otherwise ask node-gyp for the newest Node's).
  const args = [prebuildify, '--napi', '--strip', '--tag-libc', `--arch=${arch}`, `--target=${process.versions.node}`];
  const run = spawnSync(process.execPath, args, { cwd: root, env: archEnv, stdio: 'inherit' });
  if (run.status !== 0) {
    process.stderr.write(`prebuild: the ${arch} build failed${arch === process.arch ? '' : ` (is g++-${triplet.replace(/_/g, '-')} installed?)`}\n`);
    process.exit(run.status ?? 1);
  }
  // The boot loader beside it: prebuilds/linux-ARCH/bin/secmarkc-boot (native/build-boot.mjs).
  const bootFailure = buildBootLoader(path.join(root, 'prebuilds', `${process.platform}-${arch}`), archEnv.CXX ?? process.env.CXX ?? 'g++');
  if (bootFailure) {
    process.stderr.write(`prebuild: the ${arch} boot loader failed: ${bootFailure}\n`);
    process.exit(1);
  }
}
// prebuildify builds in build/ and moves the result out: no stale source build may shadow the
// prebuilds (the loader prefers build/Release).
rmSync(path.join(root, 'build'), { recursive: true, force: true });
