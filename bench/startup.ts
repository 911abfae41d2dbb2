// bench/startup: how long the CLI takes to start, next to bare `node -e ''` (the floor for any
// Node CLI). A slow start annoys at boot, where `secmarkc apply` runs from a unit. Runs are
// interleaved (one of each command per round) so load from other processes hits all alike.
// Uses the built CLI (npm run build:ts). BENCH_STARTUP_RUNS sets the rounds (default 10).

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { profileSummary } from './startup-profile.js';
import { median, spread, systemLine } from './system.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const BIN = join(ROOT, 'bin/secmarkc.js');
const EXAMPLE = join(ROOT, 'examples/browser-proxy.yaml');
const RUNS = Number(process.env.BENCH_STARTUP_RUNS ?? 10);
/** Above this many ms over bare node, the report suggests a CPU profile. */
const SLOW_MS = 50;

const COMMANDS: { label: string; args: string[] }[] = [
  { label: "node -e ''", args: ['-e', ''] },
  { label: 'secmarkc --version', args: [BIN, '--version'] },
  { label: 'secmarkc --help', args: [BIN, '--help'] },
  { label: 'secmarkc compile examples/browser-proxy.yaml', args: [BIN, 'compile', EXAMPLE] },
];

function timed(args: readonly string[]): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} failed: ${r.stderr}`);
  return ms;
}

export function runStartupBench(): string {
  const samples = COMMANDS.map(() => [] as number[]);
  timed(COMMANDS[1]!.args); // warm the page cache once, not counted
  for (let i = 0; i < RUNS; i++) COMMANDS.forEach((c, j) => samples[j]!.push(timed(c.args)));
  const bare = median(samples[0]!);
  const rows = COMMANDS.map((c, j) => {
    const ms = median(samples[j]!);
    return `| \`${c.label}\` | ${ms.toFixed(0)} ± ${spread(samples[j]!).toFixed(0)} ms | ${j === 0 ? '–' : `+${(ms - bare).toFixed(0)} ms`} |`;
  });
  const slow = COMMANDS.filter((_, j) => j > 0 && median(samples[j]!) - bare > SLOW_MS);
  return [
    '### Startup: the CLI vs bare node',
    '',
    systemLine('/usr/sbin/nft'),
    '',
    `Median ± half-IQR of ${RUNS} interleaved runs, wall time of the whole process (output to a pipe).`,
    '',
    '| command | time | over `node -e \'\'` |',
    '|---|---:|---:|',
    ...rows,
    '',
    ...(slow.length
      ? [
          `Over ${SLOW_MS} ms above bare node; self time by script from one \`node --cpu-prof\` run (profile yourself: \`node --cpu-prof --cpu-prof-dir=/tmp/prof bin/secmarkc.js ARGS\`, open the .cpuprofile in Chrome DevTools or speedscope):`,
          '',
          ...slow.map((c) => `- \`${c.label}\`: ${profileSummary(c.args, ROOT)}`),
        ]
      : [`Every command is within ${SLOW_MS} ms of bare node.`]),
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(runStartupBench());
