// Where this installation's secmarkc-boot is (native/build-boot.mjs): the prebuild for this
// machine's architecture, else a source build. A candidate counts only if it runs here (its
// --self-test: SHA-256 against known vectors), so a unit never names a loader that cannot start.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export function bootLoaderCandidates(packageDir: string): string[] {
  return [join(packageDir, 'prebuilds', `${process.platform}-${process.arch}`, 'bin', 'secmarkc-boot'), join(packageDir, 'build', 'bin', 'secmarkc-boot')];
}

/** The first candidate that passes its self-test, or undefined. */
export function findBootLoader(packageDir: string): string | undefined {
  return bootLoaderCandidates(packageDir).find((path) => existsSync(path) && spawnSync(path, ['--self-test'], { stdio: 'ignore', timeout: 10_000 }).status === 0);
}
