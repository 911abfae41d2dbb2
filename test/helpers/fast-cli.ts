// The CLI from source as one CommonJS file (esbuild, as scripts/bundle.mjs makes the installed
// one), for tests that start it hundreds of times: ~0.15 s a start instead of ~0.7 s through tsx.
// Built once per test file into build/test-cli-PID/ (two levels below the project, where the
// sources look for package.json and the addon, as dist/bundle/ does), removed afterwards.

import { build } from 'esbuild';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './cli.js';

export interface FastCli {
  /** `node FILE`: the command prefix for shell scripts. */
  readonly command: string;
  readonly file: string;
  remove(): void;
}

/** Bundles of test runs that died before their teardown (an ava timeout kills the worker). */
function removeStale(): void {
  // build/ may not exist: a clone whose addon is a prebuild has no source build there.
  if (!existsSync(join(ROOT, 'build'))) return;
  for (const name of readdirSync(join(ROOT, 'build'))) {
    const pid = /^test-cli-(\d+)$/.exec(name)?.[1];
    if (pid === undefined) continue;
    try {
      process.kill(Number(pid), 0);
    } catch {
      rmSync(join(ROOT, 'build', name), { recursive: true, force: true });
    }
  }
}

export async function buildFastCli(): Promise<FastCli> {
  removeStale();
  const dir = join(ROOT, 'build', `test-cli-${process.pid}`);
  const file = join(dir, 'secmarkc.cjs');
  await build({
    stdin: {
      contents: "import { main } from './src/cli/main.ts';\nmain(process.argv).catch((e) => { process.stderr.write(`secmarkc: ${e?.stack ?? e}\\n`); process.exitCode = 1; });\n",
      resolveDir: ROOT,
      loader: 'ts',
    },
    outfile: file,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    external: ['yaml'],
    define: { 'import.meta.url': '__bundleUrl' },
    banner: { js: "const __bundleUrl = require('node:url').pathToFileURL(__filename).href;" },
    logLevel: 'warning',
  });
  return { command: `${process.execPath} ${file}`, file, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
