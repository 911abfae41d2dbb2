// A benchmark file run directly (`npx tsx bench/X.ts`) re-runs itself under `unshare -n`, so it
// loads rulesets in a private network namespace; `npm run bench` already starts there.

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** When `moduleUrl` is the script being run: run `bench` in a private namespace and print its report. */
export async function runAsScriptInOwnNetns(moduleUrl: string, bench: () => Promise<string>): Promise<void> {
  const file = fileURLToPath(moduleUrl);
  if (process.argv[1] !== file) return;
  if (process.env.SECMARKC_BENCH_IN_NETNS !== '1') {
    const r = spawnSync('unshare', ['-n', process.execPath, '--import=tsx', file], {
      stdio: 'inherit',
      env: { ...process.env, SECMARKC_BENCH_IN_NETNS: '1' },
    });
    process.exit(r.status ?? 1);
  }
  console.log(await bench());
}
