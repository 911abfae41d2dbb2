// Builds native/secmarkc-boot.cc, the boot loader, into DIR/bin/secmarkc-boot: beside the addon by
// native/install.mjs (build/bin/) and scripts/prebuild.mjs (prebuilds/linux-ARCH/bin/). A folder
// named bin/ because refpolicy labels /usr/lib/(.*/)?bin(/.*)? bin_t, which init_t runs as
// initrc_t (the domain that may create secmark objects). Linked statically: the loader runs before
// anything else at boot and needs nothing but the kernel (musl hosts included).
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const BOOT_FLAGS = ['-std=c++17', '-O2', '-Wall', '-Wextra', '-Werror', '-static', '-s', '-fstack-protector-strong', '-D_FORTIFY_SOURCE=2'];

/** Build the loader into `dir`/bin with `cxx`; returns undefined, or why it failed. */
export function buildBootLoader(dir, cxx = process.env.CXX || 'g++') {
  const out = path.join(dir, 'bin', 'secmarkc-boot');
  mkdirSync(path.dirname(out), { recursive: true });
  const run = spawnSync(cxx, [...BOOT_FLAGS, '-o', out, path.join(root, 'native', 'secmarkc-boot.cc')], { stdio: 'inherit' });
  if (run.error) return `${cxx}: ${run.error.message}`;
  return run.status === 0 ? undefined : `${cxx} exited with ${run.status ?? run.signal}`;
}

// `node native/build-boot.mjs DIR`: one build (tests, by hand).
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const failure = buildBootLoader(path.resolve(process.argv[2] ?? path.join(root, 'build')));
  if (failure) {
    process.stderr.write(`secmarkc: the boot loader did not build: ${failure}\n`);
    process.exit(1);
  }
}
