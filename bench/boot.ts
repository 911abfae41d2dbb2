// bench/boot: the boot path. The whole `secmarkc-boot` process (the fast path the unit's ExecStart
// runs: verify the boot file, the lock, the index, the policy, then send the recorded batch) vs
// `nft -f` of the same ruleset, alternating, at 10 … 100,000 entries of both shapes (bench/generate.ts),
// in one private namespace, with --no-lsm records (no SELinux on the host). Its fallback command
// is /bin/false, so a run that did not take the fast path fails the bench instead of timing node.
// `npx tsx bench/boot.ts`, or runBootBench() from bench/run.ts (its targets go to the summary).
// Needs the built CLI (npm run build:ts) and the loader (npm run build:native: build/bin/).

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compilePolicy } from '../src/compile/compile.js';
import { withCounterObjects } from '../src/compile/substitute.js';
import { emitNftText } from '../src/emit/nft-text.js';
import { findBootLoader } from '../src/systemd/boot-loader.js';
import { SHAPES, type Shape } from './generate.js';
import { mib, NFT, sizesFrom, timedProcess } from './measure.js';
import { median, spread as halfIqr } from './system.js';
import { judge, verdictLine, type BenchReport, type TargetResult } from './verdict.js';
import { runAsScriptInOwnNetns } from './own-netns.js';

const SIZES = sizesFrom(process.env.BENCH_BOOT_SIZES, '10,100,1000,10000,100000');
const RUNS = Number(process.env.BENCH_RUNS ?? 11);
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const BIN = join(ROOT, 'bin/secmarkc.js');
/** Issue 16: the boot path at most half of nft -f, at every size. */
const TARGET = 0.5;

/**
 * One secmarkc-boot run: when it exited (what systemd waits for), and when its background child
 * was done: the socket closed (the kernel has freed the table the batch replaced, as nft's own
 * exit waits for) and the history line written, which is the child's last act. The next nft run
 * starts only then, so it never waits for the kernel's mutex on our behalf.
 */
function timedBoot(loader: string, args: readonly string[], history: string, scratch: string): { exit: number; done: number } {
  const lines = (): number => (existsSync(history) ? readFileSync(history, 'utf8').split('\n').length : 0);
  const before = lines();
  const start = process.hrtime.bigint();
  const exit = timedProcess(loader, args, { scratch }).ms;
  const deadline = Date.now() + 10_000;
  while (lines() === before) {
    if (Date.now() > deadline) throw new Error('secmarkc-boot wrote no history line within 10 s');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 0.2);
  }
  return { exit, done: Number(process.hrtime.bigint() - start) / 1e6 };
}

export async function runBootBench(): Promise<BenchReport> {
  const loader = findBootLoader(ROOT);
  if (!loader) throw new Error('no secmarkc-boot that runs: npm run build:native');
  const dir = mkdtempSync(join(tmpdir(), 'secmarkc-bench-boot-'));
  const lines = [
    '### Boot path: secmarkc-boot (whole process) vs nft -f, same ruleset, same namespace',
    '',
    `Median ± half-IQR of ${RUNS} alternating runs; ratio: the median of the per-round ratios secmarkc-boot / nft, ± the half-IQR of those ratios. ` +
      'secmarkc-boot runs as the unit runs it (`secmarkc-boot --no-lsm --state-dir DIR POLICY -- FALLBACK`), after one `secmarkc apply --no-lsm` wrote the boot file; ' +
      'its fallback is /bin/false, so every timed run took the fast path (checks, then the recorded batch with a fresh generation id). ' +
      '*exit*: until the process exits, which is what systemd waits for: the batch is committed then. *done*: until its background child has also closed the socket ' +
      '(the kernel frees the table the batch replaced then, as it does when nft exits) and fsynced the history line; nft runs only after that. ' +
      'Peak RSS: GNU time %M, median of 3 separate runs. Both shapes of bench/generate.ts (exact entries; prefixes × port ranges); counter objects stand in for secmark objects.',
    '',
    '| shape | entries | batch bytes | secmarkc-boot (exit) | nft -f | ratio (per round) | ≤ 0.5× | secmarkc-boot (done) | ratio, done | peak RSS: boot / nft |',
    '|---|---:|---:|---:|---:|---:|:---|---:|---:|---:|',
  ];
  const targets: TargetResult[] = [];
  try {
    for (const [shape, size] of (Object.keys(SHAPES) as Shape[]).flatMap((sh) => SIZES.map((n) => [sh, n] as const))) {
      const policy = join(dir, `${shape}${size}.yaml`);
      const state = join(dir, `state-${shape}${size}`);
      const text = SHAPES[shape](size);
      writeFileSync(policy, text);
      const compiled = compilePolicy(text, policy);
      if (!compiled.ok) throw new Error('benchmark policy does not compile');
      const nftFile = join(dir, `${shape}${size}.nft`);
      writeFileSync(nftFile, emitNftText(withCounterObjects(compiled.compiled.ruleset)));
      timedProcess(process.execPath, [BIN, 'apply', '--no-lsm', '--no-module', '--state-dir', state, policy], { scratch: dir });
      const boot = ['--no-lsm', '--table', compiled.compiled.ruleset.table, '--state-dir', state, policy, '--', '/bin/false'];
      const batchBytes = Number(/^batch-length (\d+)$/m.exec(readFileSync(join(state, `${compiled.compiled.ruleset.table}.boot`), 'latin1'))?.[1]);
      const history = join(state, `${compiled.compiled.ruleset.table}.history`);
      const ours: number[] = [];
      const oursDone: number[] = [];
      const theirs: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const run = timedBoot(loader, boot, history, dir);
        ours.push(run.exit);
        oursDone.push(run.done);
        theirs.push(timedProcess(NFT, ['-f', nftFile], { scratch: dir }).ms);
      }
      const ratios = ours.map((x, i) => x / theirs[i]!);
      const doneRatios = oursDone.map((x, i) => x / theirs[i]!);
      const ratio = median(ratios);
      const rss = (command: string, args: readonly string[]) => median([0, 1, 2].map(() => timedProcess(command, args, { scratch: dir, peak: true }).peakKiB));
      const judged = judge(`boot path (secmarkc-boot, exit) / \`nft -f\`, ${shape}, ${size.toLocaleString('en')} entries`, ratios, TARGET);
      const verdict = judged.verdict;
      targets.push(judged);
      lines.push(
        `| ${shape} | ${size.toLocaleString('en')} | ${batchBytes.toLocaleString('en')} | ${median(ours).toFixed(1)} ± ${halfIqr(ours).toFixed(1)} ms | ` +
          `${median(theirs).toFixed(1)} ± ${halfIqr(theirs).toFixed(1)} ms | ${ratio.toFixed(2)} ± ${halfIqr(ratios).toFixed(2)} | ${verdict} | ` +
          `${median(oursDone).toFixed(1)} ± ${halfIqr(oursDone).toFixed(1)} ms | ${median(doneRatios).toFixed(2)} ± ${halfIqr(doneRatios).toFixed(2)} | ` +
          `${mib(rss(loader, boot))} / ${mib(rss(NFT, ['-f', nftFile]))} MiB |`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { text: [...lines, '', ...targets.map((t) => `- ${verdictLine(t)}`)].join('\n'), targets };
}

await runAsScriptInOwnNetns(import.meta.url, async () => (await runBootBench()).text);
