// bench/interactive: what an administrator waits for, whole process vs whole process: `node -e ''`
// (the floor of any Node CLI), `secmarkc --version`, `check` of a 10-entry policy and `apply` of
// 10 and 100 entries (bench/generate.ts shapes, `--no-lsm --no-module`, own state directory, in a
// private network namespace), each under the default node flags and the unit's
// `--jitless --no-expose-wasm`. Runs are interleaved (one of each per round), the verdict is the
// median of per-round ratios to `node -e ''` of the same round and flags, peak RSS from GNU time.
//
// A/B: BENCH_BINS="before=/path/a/bin/secmarkc.js,after=bin/secmarkc.js" compares builds in the
// same rounds (default: this tree's bin only), and prints each later build's median per-round
// difference to the first. BENCH_INTERACTIVE_RUNS sets the rounds (default 15); BENCH_CASES
// (e.g. "apply 10,check 10") and BENCH_FLAGS ("default" or "jitless") narrow what runs.
// Run: npx tsx bench/interactive.ts (re-runs itself under `unshare -n`).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatePolicy } from './generate.js';
import { runAsScriptInOwnNetns } from './own-netns.js';
import { median, spread, systemLine } from './system.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const RUNS = Number(process.env.BENCH_INTERACTIVE_RUNS ?? 15);
const GNU_TIME = '/usr/bin/time';
/** The systemd unit's node flags (packaging/systemd/secmarkc.service). */
const FLAG_SETS: { label: string; flags: string[] }[] = [
  { label: 'default', flags: [] },
  { label: 'jitless', flags: ['--jitless', '--no-expose-wasm'] },
];

interface Case {
  label: string;
  args: (bin: string, dir: string) => string[];
}

function bins(): { label: string; bin: string }[] {
  const spec = process.env.BENCH_BINS;
  if (!spec) return [{ label: 'secmarkc', bin: join(ROOT, 'bin/secmarkc.js') }];
  return spec.split(',').map((pair) => {
    const [label, bin] = pair.split('=');
    return { label: label!, bin: resolve(bin!) };
  });
}

const ALL_CASES: Case[] = [
  { label: '--version', args: (bin) => [bin, '--version'] },
  { label: 'check 10', args: (bin, dir) => [bin, 'check', join(dir, 'p10.yaml')] },
  { label: 'apply 10', args: (bin, dir) => [bin, 'apply', join(dir, 'p10.yaml'), '--no-lsm', '--no-module', '--state-dir', join(dir, 'state10')] },
  { label: 'apply 100', args: (bin, dir) => [bin, 'apply', join(dir, 'p100.yaml'), '--no-lsm', '--no-module', '--state-dir', join(dir, 'state100')] },
  // Only when BENCH_CASES names them: sizes where the batch's worker thread may pay.
  { label: 'apply 1000', args: (bin, dir) => [bin, 'apply', join(dir, 'p1000.yaml'), '--no-lsm', '--no-module', '--state-dir', join(dir, 'state1000')] },
  { label: 'apply 10000', args: (bin, dir) => [bin, 'apply', join(dir, 'p10000.yaml'), '--no-lsm', '--no-module', '--state-dir', join(dir, 'state10000')] },
];
const DEFAULT_CASES = ['--version', 'check 10', 'apply 10', 'apply 100'];

const only = (names: string | undefined) => (label: string) => !names || names.split(',').includes(label);
const CASES = ALL_CASES.filter((c) => only(process.env.BENCH_CASES ?? DEFAULT_CASES.join(','))(c.label));

/**
 * Wall ms of the whole process (GNU time's own fork and exec included, alike for every row), its
 * peak RSS in KiB, and the CPU ms (user + system, all threads) it used: bash's `times` reports its
 * children's rusage to the ms. On a machine shared with other work, wall time grows with the
 * load; CPU time much less, so it is the steadier comparison of two builds (but it misses waits:
 * fsync, a blocking close).
 */
function run(args: readonly string[], rssFile: string): { ms: number; kib: number; cpu: number } {
  const start = process.hrtime.bigint();
  const r = spawnSync('/bin/bash', ['-c', '"$@" >/dev/null || exit; times', 'bash', GNU_TIME, '-f', '%M', '-o', rssFile, process.execPath, ...args], { encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  // times: the shell's own user and system time, then its children's: "0m0.052s 0m0.010s".
  const children = r.stdout.trim().split('\n').at(-1)!.match(/(\d+)m([\d.]+)s/g)!;
  const cpu = children.map((t) => /(\d+)m([\d.]+)s/.exec(t)!).reduce((sum, m) => sum + (Number(m[1]) * 60 + Number(m[2])) * 1000, 0);
  return { ms, kib: Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop()), cpu };
}

interface Row {
  label: string;
  ms: number[];
  cpu: number[];
  ratio: number[];
  kib: number[];
}

export async function runInteractiveBench(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'secmarkc-interactive-'));
  try {
    writeFileSync(join(dir, 'p10.yaml'), generatePolicy(10));
    for (const size of [100, 1000, 10000]) writeFileSync(join(dir, `p${size}.yaml`), generatePolicy(size));
    const rssFile = join(dir, 'rss');
    const builds = bins();
    const out: string[] = [
      '### Interactive commands vs `node -e \'\'`',
      '',
      systemLine('/usr/sbin/nft'),
      '',
      `Median ± half-IQR of ${RUNS} interleaved rounds, wall time of the whole process; ratio: median of per-round ratios to \`node -e ''\` under the same flags; CPU: user + system of the process; peak RSS (GNU time %M, median); load average before: ${loadavg().map((l) => l.toFixed(1)).join(' ')}.`,
      '',
      '| flags | command | time (ms) | × `node -e \'\'` | CPU (ms) | peak RSS (MiB) |',
      '|---|---|---:|---:|---:|---:|',
    ];
    const diffs: string[] = [];
    for (const { label: flagLabel, flags } of FLAG_SETS.filter((f) => only(process.env.BENCH_FLAGS)(f.label))) {
      const rows: Row[] = [{ label: "node -e ''", ms: [], cpu: [], ratio: [], kib: [] }];
      const runs: { row: Row; args: string[] }[] = [{ row: rows[0]!, args: [...flags, '-e', ''] }];
      for (const c of CASES) {
        for (const b of builds) {
          const row: Row = { label: `${builds.length > 1 ? `${b.label}: ` : ''}${c.label}`, ms: [], cpu: [], ratio: [], kib: [] };
          rows.push(row);
          runs.push({ row, args: [...flags, ...c.args(b.bin, dir)] });
        }
      }
      // One unmeasured round: the page cache, the state directories' first records.
      for (const r of runs) run(r.args, rssFile);
      for (let i = 0; i < RUNS; i++) {
        const round = runs.map((r) => run(r.args, rssFile));
        round.forEach((m, j) => {
          runs[j]!.row.ms.push(m.ms);
          runs[j]!.row.cpu.push(m.cpu);
          runs[j]!.row.kib.push(m.kib);
          runs[j]!.row.ratio.push(m.ms / round[0]!.ms);
        });
      }
      for (const r of rows) {
        const ratio = r === rows[0] ? '1' : `${median(r.ratio).toFixed(2)} ± ${spread(r.ratio).toFixed(2)}`;
        out.push(`| ${flagLabel} | ${r.label} | ${median(r.ms).toFixed(0)} ± ${spread(r.ms).toFixed(0)} | ${ratio} | ${median(r.cpu).toFixed(0)} ± ${spread(r.cpu).toFixed(0)} | ${(median(r.kib) / 1024).toFixed(1)} |`);
      }
      // A/B: rows come in groups of one per build, the first build first.
      for (let j = 1; builds.length > 1 && j < rows.length; j += builds.length) {
        for (let b = 1; b < builds.length; b++) {
          const [first, later] = [rows[j]!, rows[j + b]!];
          const d = later.ms.map((ms, i) => ms - first.ms[i]!);
          const c = later.cpu.map((ms, i) => ms - first.cpu[i]!);
          diffs.push(
            `- ${flagLabel}, ${later.label} − ${first.label}: wall ${median(d).toFixed(1)} ± ${spread(d).toFixed(1)} ms, CPU ${median(c).toFixed(1)} ± ${spread(c).toFixed(1)} ms (medians of per-round differences)`,
          );
        }
      }
    }
    return [...out, ...(diffs.length ? ['', ...diffs] : [])].join('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await runAsScriptInOwnNetns(import.meta.url, runInteractiveBench);
