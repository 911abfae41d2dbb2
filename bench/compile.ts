// bench/compile: policy → IR → nft text for 100 … 100,000 entries, time and peak memory, next to
// `nft -c -f` parsing and evaluating the same ruleset (counter objects standing in for secmark,
// in a private namespace) — the natural competitor for the text path.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compilePolicy } from '../src/compile/compile.js';
import { withCounterObjects } from '../src/compile/substitute.js';
import { emitNftText } from '../src/emit/nft-text.js';
import { generatePolicy } from './generate.js';
import { median, spread, systemLine } from './system.js';

const NFT = '/usr/sbin/nft';
const SIZES = (process.env.BENCH_SIZES ?? '100,1000,10000,100000').split(',').map(Number);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const WORKER = fileURLToPath(new URL('./compile-worker.ts', import.meta.url));

interface Sample { ms: number; peakMiB: number; elements: number }

function ours(entries: number): Sample {
  const r = spawnSync(process.execPath, ['--import=tsx', WORKER, String(entries)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as Sample;
}

/** `nft -c -f` in a fresh namespace: wall time and peak RSS, both from GNU time. */
function nftCheck(file: string): { ms: number; peakMiB: number } {
  const r = spawnSync('unshare', ['-n', '/usr/bin/time', '-f', '%e %M', NFT, '-c', '-f', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`nft -c failed: ${r.stderr}`);
  const [seconds = 'NaN', kib = 'NaN'] = r.stderr.trim().split('\n').pop()!.split(' ');
  return { ms: Number(seconds) * 1000, peakMiB: Number(kib) / 1024 };
}

export function runCompileBench(): string {
  const lines = [
    '### Compile: policy → IR → nft text',
    '',
    systemLine(NFT),
    '',
    `Median of ${RUNS} runs each (± half the interquartile range). secmarkc: in-process time of parse + lower + emit, peak RSS of the whole process (Node itself included). nft: wall time of the process, nft -c: parse, evaluate, and a check-only transaction with the kernel.`,
    '',
    '| entries | secmarkc compile | peak RSS | nft -c -f (same ruleset) | nft peak RSS | time ratio secmarkc / nft |',
    '|---:|---:|---:|---:|---:|---:|',
  ];
  const dir = mkdtempSync(join(tmpdir(), 'secmarkc-bench-'));
  try {
    for (const size of SIZES) {
      const samples = Array.from({ length: RUNS }, () => ours(size));
      const compiled = compilePolicy(generatePolicy(size), 'bench.yaml');
      if (!compiled.ok) throw new Error('benchmark policy does not compile');
      const file = join(dir, `bench-${size}.nft`);
      writeFileSync(file, emitNftText(withCounterObjects(compiled.compiled.ruleset)));
      const nftRuns = Array.from({ length: RUNS }, () => nftCheck(file));
      const nft = nftRuns.map((r) => r.ms);
      const oursMs = samples.map((s) => s.ms);
      lines.push(
        `| ${size.toLocaleString('en')} | ${median(oursMs).toFixed(1)} ± ${spread(oursMs).toFixed(1)} ms | ${median(samples.map((s) => s.peakMiB)).toFixed(0)} MiB | ${median(nft).toFixed(1)} ± ${spread(nft).toFixed(1)} ms | ${median(nftRuns.map((r) => r.peakMiB)).toFixed(0)} MiB | ${(median(oursMs) / median(nft)).toFixed(2)} |`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(runCompileBench());
