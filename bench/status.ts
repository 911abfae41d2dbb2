// bench/status: the whole `secmarkc status` process (without POLICY: which record is live; with
// POLICY: also drift from it) vs `nft list table` of the same table, alternating in one private
// namespace, at 10,000 … 500,000 entries; wall time and peak memory of each process, and the
// whole `apply` that loaded the table, for scale. Both read the same map back from the kernel,
// whose dump of a hash set costs it O(elements × dump parts) (see RESULTS.md): at large sizes
// that walk, not either program, is most of the time.
// BENCH_STATUS_BASELINE=PATH/bin/secmarkc.js adds another build's status to the same rounds
// (before/after). Re-runs itself under `unshare -n`. Uses the built CLI (npm run build).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runAsScriptInOwnNetns } from './own-netns.js';
import { SHAPES, type Shape } from './generate.js';
import { NFT, timedProcess } from './measure.js';
import { median, spread, systemLine } from './system.js';

const SIZES = (process.env.BENCH_STATUS_SIZES ?? '10000,100000').split(',').map(Number);
const RUNS = Number(process.env.BENCH_STATUS_RUNS ?? 5);
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const BIN = join(ROOT, 'bin/secmarkc.js');
const BASELINE = process.env.BENCH_STATUS_BASELINE;
const TABLE = 'secmarkc_bench';

interface Run {
  ms: number;
  /** Peak resident memory (KiB) from GNU time, when it is installed. */
  maxRssKiB?: number;
  stdout: string;
}

function timed(dir: string, command: string, args: readonly string[], okStatus = 0): Run {
  // Under GNU time for the peak RSS: its own start (tens of ms) is small beside these processes (0.3-17 s).
  const r = timedProcess(command, args, { scratch: dir, capture: true, okStatus, peak: true });
  return { ms: r.ms, ...(Number.isFinite(r.peakKiB) ? { maxRssKiB: r.peakKiB } : {}), stdout: r.stdout };
}

const perRound = (a: readonly number[], b: readonly number[]): number => median(a.map((x, i) => x / b[i]!));
const fmt = (values: readonly number[]): string => `${median(values).toFixed(0)} ± ${spread(values).toFixed(0)} ms`;
const rss = (runs: readonly Run[]): string => (runs.every((r) => r.maxRssKiB !== undefined) ? `${Math.round(median(runs.map((r) => r.maxRssKiB!)) / 1024)}` : '–');

export async function runStatusBench(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'secmarkc-bench-status-'));
  const lines = [
    '### Status: whole process vs nft list table, same table, same namespace',
    '',
    systemLine(NFT),
    '',
    `Median ± half-IQR of ${RUNS} alternating rounds (secmarkc status, secmarkc status POLICY, nft list table); ratios are the median of the ratios within each round. Peak RSS: the median of each process's maximum resident set (GNU time), MiB. The table is loaded once per size by \`secmarkc apply --no-lsm --no-module\` (its time in the last column, one run), counter objects standing in for secmark objects. *status*: \`secmarkc status -t ${TABLE}\`, which reads the table back and compares it with the records (the current one is live, exit 0); *status POLICY*: the same and the drift from the policy file, which it compiles (none, exit 0). *nft*: \`nft list table inet ${TABLE}\` (text to a pipe). Shapes as in the apply section: *exact* (hash maps) and *interval* (prefixes × port ranges, interval maps).`,
    '',
    '| shape | entries | status | status POLICY | nft list table | status / nft | status POLICY / nft | peak RSS MiB: status / POLICY / nft | apply |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const baselineLines = [
    '',
    `Baseline \`${BASELINE}\` in the same rounds (before → after; ratio: the median of after / before within each round):`,
    '',
    '| shape | entries | status | ratio | status POLICY | ratio | peak RSS MiB: status | status POLICY |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  try {
    for (const [shape, size] of (Object.keys(SHAPES) as Shape[]).flatMap((sh) => SIZES.map((n) => [sh, n] as const))) {
      const policy = join(dir, `${shape}-${size}.yaml`);
      writeFileSync(policy, SHAPES[shape](size));
      const state = join(dir, `state-${shape}-${size}`);
      const apply = timed(dir, process.execPath, [BIN, 'apply', policy, '--no-lsm', '--no-module', '--state-dir', state]);
      const ours: Run[] = [];
      const withPolicy: Run[] = [];
      const theirs: Run[] = [];
      const before: Run[] = [];
      const beforeWithPolicy: Run[] = [];
      for (let i = 0; i < RUNS; i++) {
        ours.push(timed(dir, process.execPath, [BIN, 'status', '-t', TABLE, '--no-lsm', '--state-dir', state]));
        withPolicy.push(timed(dir, process.execPath, [BIN, 'status', policy, '--no-lsm', '--state-dir', state]));
        theirs.push(timed(dir, NFT, ['list', 'table', 'inet', TABLE]));
        if (BASELINE) {
          before.push(timed(dir, process.execPath, [BASELINE, 'status', '-t', TABLE, '--no-lsm', '--state-dir', state]));
          beforeWithPolicy.push(timed(dir, process.execPath, [BASELINE, 'status', policy, '--no-lsm', '--state-dir', state]));
        }
      }
      // What was measured is what it should be: the current record live, no drift, and nft listed the elements.
      if (!ours.every((r) => /^record: the live table is the current record/m.test(r.stdout))) throw new Error(`status did not find the current record live:\n${ours[0]!.stdout.slice(-500)}`);
      if (!withPolicy.every((r) => /^no drift: the live table is what the policy compiles to$/m.test(r.stdout))) throw new Error(`status POLICY reported drift:\n${withPolicy[0]!.stdout.slice(-500)}`);
      if (!theirs.every((r) => r.stdout.includes(': "app0_client"'))) throw new Error('nft list table did not list the map elements');
      const ms = (runs: readonly Run[]) => runs.map((r) => r.ms);
      lines.push(
        `| ${shape} | ${size.toLocaleString('en')} | ${fmt(ms(ours))} | ${fmt(ms(withPolicy))} | ${fmt(ms(theirs))} | ${perRound(ms(ours), ms(theirs)).toFixed(2)} | ${perRound(ms(withPolicy), ms(theirs)).toFixed(2)} | ${rss(ours)} / ${rss(withPolicy)} / ${rss(theirs)} | ${apply.ms.toFixed(0)} ms |`,
      );
      if (BASELINE) {
        baselineLines.push(
          `| ${shape} | ${size.toLocaleString('en')} | ${fmt(ms(before))} → ${fmt(ms(ours))} | ${perRound(ms(ours), ms(before)).toFixed(3)} | ${fmt(ms(beforeWithPolicy))} → ${fmt(ms(withPolicy))} | ${perRound(ms(withPolicy), ms(beforeWithPolicy)).toFixed(3)} | ${rss(before)} → ${rss(ours)} | ${rss(beforeWithPolicy)} → ${rss(withPolicy)} |`,
        );
      }
      spawnSync(NFT, ['delete', 'table', 'inet', TABLE]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return [...lines, ...(BASELINE ? baselineLines : [])].join('\n');
}

await runAsScriptInOwnNetns(import.meta.url, runStatusBench);
