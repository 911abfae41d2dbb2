// bench/apply: the whole `secmarkc apply --no-lsm` process vs `nft -f` of the same ruleset, at
// 100 … 100,000 entries, alternating runs in one private namespace; the library's in-process
// apply (generation, encode, send, acknowledgements) vs the floor: the same batch, encoded
// beforehand, sent by the addon and acknowledged (what the kernel itself costs); and `node -e ''`,
// which bounds any whole Node process from below.
// Re-runs itself under `unshare -n`. Uses the built CLI (npm run build:ts).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runAsScriptInOwnNetns } from './own-netns.js';
import { replaceTable } from '../src/apply/apply.js';
import { NetfilterSession } from '../src/apply/session.js';
import { encodeRuleset } from '../src/netlink/encode-ruleset.js';
import { compilePolicy } from '../src/compile/compile.js';
import { withCounterObjects } from '../src/compile/substitute.js';
import { emitNftText } from '../src/emit/nft-text.js';
import { generatePolicy } from './generate.js';
import { median, spread, systemLine } from './system.js';

const NFT = '/usr/sbin/nft';
const SIZES = (process.env.BENCH_SIZES ?? '100,1000,10000,100000').split(',').map(Number);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const BIN = join(ROOT, 'bin/secmarkc.js');

/**
 * Children run without NODE_EXTRA_CA_CERTS: some environments (CI sandboxes) set it, and Node
 * then parses a CA bundle at every start (~30 ms here) that no administrator's shell pays.
 */
const CHILD_ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_EXTRA_CA_CERTS'));
/**
 * Library applies before the measured ones, at least this many and for at least this long: a
 * resident caller runs optimised code, and five applies of 1,000 entries (a few ms) are too few
 * for V8 to optimise the encoder (1.5 ms per encode instead of 0.2 ms).
 */
const WARMUP = 5;
const WARMUP_MS = 2000;

/**
 * Minor page faults of this process's waited-for children so far (/proc/self/stat, cminflt). On
 * hosts where a fresh page is expensive (see RESULTS.md) they explain much of a run's time, and
 * unlike wall time they are the same from run to run.
 */
function childMinorFaults(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  // Fields after the command name (which may hold spaces): state ppid pgrp session tty_nr tpgid flags minflt cminflt.
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[8]);
}

interface Run {
  ms: number;
  faults: number;
}

function timed(command: string, args: readonly string[]): Run {
  const faultsBefore = childMinorFaults();
  const start = process.hrtime.bigint();
  const r = spawnSync(command, args, { encoding: 'utf8', env: CHILD_ENV });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${r.stderr}`);
  return { ms, faults: childMinorFaults() - faultsBefore };
}

/** The median of the ratios a[i] / b[i] of runs made in the same round: robust to a host that changes speed between rounds. */
const perRound = (a: readonly number[], b: readonly number[]): number => median(a.map((x, i) => x / b[i]!));

const fmt = (values: readonly number[]): string => `${median(values).toFixed(1)} ± ${spread(values).toFixed(1)} ms`;

/** Issue 6 targets: whole process vs nft -f, and in-process apply vs the floor. */
const TARGETS = { wholeAt100k: 0.7, wholeAt10k: 1.5, libraryOverFloor: 1.3 };

async function floorOnce(encoded: ReturnType<typeof encodeRuleset>): Promise<number> {
  const start = process.hrtime.bigint();
  const session = NetfilterSession.open();
  try {
    const outcome = await session.batch(encoded);
    if (outcome.errors.length) throw new Error(`floor batch refused: ${outcome.errors[0]!.text}`);
  } finally {
    session.close();
  }
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export async function runApplyBench(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'secmarkc-bench-'));
  const lines = [
    '### Apply: whole process vs nft -f, same ruleset, same namespace',
    '',
    systemLine(NFT),
    '',
    `Median ± half-IQR of ${RUNS} alternating runs (process: secmarkc and nft; in-process: library and floor); ratios are the median of the ratios within each round (the host changes speed between rounds: see RESULTS.md), with the ratio of the medians in brackets; faults: the median number of minor page faults of each process. Counter objects stand in for secmark objects (no SELinux on the host). Child processes run without \`NODE_EXTRA_CA_CERTS\`. *process*: wall time of the whole command, as an administrator or a boot script runs it. *library*: \`replaceTable()\` in a running process (after warm-up applies: at least ${WARMUP} and ${WARMUP_MS / 1000} s): read the generation, encode, send, read the acknowledgements. *floor*: the same batch encoded beforehand, sent and acknowledged.`,
    '',
    '| entries | secmarkc apply (process) | nft -f (process) | process ratio | faults: secmarkc / nft | library apply | floor | library / floor | node -e "" |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const verdicts: string[] = [];
  try {
    const bare = Array.from({ length: RUNS }, () => timed(process.execPath, ['-e', '']));
    for (const size of SIZES) {
      const policy = join(dir, `p${size}.yaml`);
      const text = generatePolicy(size);
      writeFileSync(policy, text);
      const compiled = compilePolicy(text, policy);
      if (!compiled.ok) throw new Error('benchmark policy does not compile');
      const ruleset = withCounterObjects(compiled.compiled.ruleset);
      const nftFile = join(dir, `p${size}.nft`);
      writeFileSync(nftFile, emitNftText(ruleset));
      const ours: Run[] = [];
      const theirs: Run[] = [];
      const library: number[] = [];
      const floor: number[] = [];
      const preEncoded = encodeRuleset(ruleset, { mode: 'replace' });
      // Every measured run replaces an existing table of this size.
      await replaceTable(ruleset);
      for (let i = 0; i < RUNS; i++) {
        ours.push(timed(process.execPath, [BIN, 'apply', policy, '--no-lsm', '--no-module', '--state-dir', join(dir, 'state')]));
        theirs.push(timed(NFT, ['-f', nftFile]));
      }
      // In-process runs in a loop of their own, after the warm-up: right after a child process
      // the first call pays for caches the child evicted, which the floor after it would not.
      const warmupStart = Date.now();
      for (let i = 0; i < WARMUP || Date.now() - warmupStart < WARMUP_MS; i++) await replaceTable(ruleset);
      for (let i = 0; i < RUNS; i++) {
        const start = process.hrtime.bigint();
        await replaceTable(ruleset);
        library.push(Number(process.hrtime.bigint() - start) / 1e6);
        floor.push(await floorOnce(preEncoded));
      }
      const oursMs = ours.map((r) => r.ms);
      const theirsMs = theirs.map((r) => r.ms);
      const processRatio = perRound(oursMs, theirsMs);
      const libraryRatio = perRound(library, floor);
      const faults = `${Math.round(median(ours.map((r) => r.faults))).toLocaleString('en')} / ${Math.round(median(theirs.map((r) => r.faults))).toLocaleString('en')}`;
      lines.push(
        `| ${size.toLocaleString('en')} | ${fmt(oursMs)} | ${fmt(theirsMs)} | ${processRatio.toFixed(2)} (${(median(oursMs) / median(theirsMs)).toFixed(2)}) | ${faults} | ${fmt(library)} | ${fmt(floor)} | ${libraryRatio.toFixed(2)} (${(median(library) / median(floor)).toFixed(2)}) | ${fmt(bare.map((r) => r.ms))} |`,
      );
      if (size === 100_000) verdicts.push(`Whole process at 100,000 entries ≤ ${TARGETS.wholeAt100k}× nft: ${processRatio.toFixed(2)}× — ${processRatio <= TARGETS.wholeAt100k ? 'met' : 'missed'}.`);
      if (size === 10_000) verdicts.push(`Whole process at 10,000 entries ≤ ${TARGETS.wholeAt10k}× nft: ${processRatio.toFixed(2)}× — ${processRatio <= TARGETS.wholeAt10k ? 'met' : 'missed'}.`);
      if (size >= 1000) verdicts.push(`Library apply at ${size.toLocaleString('en')} entries ≤ ${TARGETS.libraryOverFloor}× the floor: ${libraryRatio.toFixed(2)}× — ${libraryRatio <= TARGETS.libraryOverFloor ? 'met' : 'missed'}.`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return [...lines, '', ...verdicts].join('\n');
}

await runAsScriptInOwnNetns(import.meta.url, runApplyBench);
