// src/native.ts loads the addon from a known path instead of through node-gyp-build's directory
// scans: where it names a file, node-gyp-build (the package's loader, still the fallback) must
// name the same one, for a clone with a source build and for an install with prebuilds only;
// where node-gyp-build could decide otherwise (build/Debug, the variables that steer it), the
// known path stands back.

import test from 'ava';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { knownAddonPath } from '../src/native.js';
import { ROOT } from './helpers/cli.js';

const nodeGypBuild = createRequire(join(ROOT, 'package.json'))('node-gyp-build') as { resolve: (dir: string) => string };

/** A package root holding empty files at `files` (node-gyp-build only looks at names). */
function packageWith(files: readonly string[]): string {
  const root = mkdtempSync(join(tmpdir(), 'secmarkc-addon-path-'));
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'secmarkc' }));
  for (const file of files) {
    mkdirSync(join(root, file, '..'), { recursive: true });
    writeFileSync(join(root, file), '');
  }
  return root;
}

const cases: { title: string; files: string[]; known: boolean }[] = [
  { title: 'a source build beside prebuilds: build/Release', files: ['build/Release/secmarkc_native.node', `prebuilds/linux-${process.arch}/secmarkc.glibc.node`], known: true },
  { title: 'prebuilds only: this machine\'s', files: [`prebuilds/linux-${process.arch}/secmarkc.glibc.node`, 'prebuilds/linux-foreign/secmarkc.glibc.node'], known: true },
  { title: 'a debug build only: left to node-gyp-build', files: ['build/Debug/secmarkc_native.node', `prebuilds/linux-${process.arch}/secmarkc.glibc.node`], known: false },
];

for (const c of cases) {
  test.serial(`the known addon path agrees with node-gyp-build: ${c.title}`, (t) => {
    const root = packageWith(c.files);
    try {
      const known = knownAddonPath(root);
      if (c.known) t.is(known, nodeGypBuild.resolve(root));
      else t.is(known, undefined);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
}

test.serial('nothing to load: no known path, and node-gyp-build says why', (t) => {
  const root = packageWith([]);
  try {
    t.is(knownAddonPath(root), undefined);
    t.throws(() => nodeGypBuild.resolve(root), { message: /^No native build was found for platform=linux/ });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test.serial('PREBUILDS_ONLY steers node-gyp-build: the known path stands back', (t) => {
  const root = packageWith(['build/Release/secmarkc_native.node']);
  process.env.PREBUILDS_ONLY = '1';
  try {
    t.is(knownAddonPath(root), undefined);
  } finally {
    delete process.env.PREBUILDS_ONLY;
    rmSync(root, { recursive: true, force: true });
  }
});
