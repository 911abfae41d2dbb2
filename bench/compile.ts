// bench/compile: the whole `secmarkc check` and `secmarkc compile` processes vs the whole
// `nft -c -f` process (parse, evaluate, check-only transaction with the kernel) of the same
// ruleset, for both shapes at 10 … 100,000 entries, with the CLI's default V8 flags and `check`
// also under the unit's `--jitless --no-expose-wasm`: wall time (process.hrtime around each
// child, never nft's own clock) and peak memory of every process, interleaved. nft -c needs the
// kernel: re-runs itself under `unshare -n` (counter objects stand in for secmark objects).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runAsScriptInOwnNetns } from './own-netns.js';
import { compilePolicy } from '../src/compile/compile.js';
import { withCounterObjects } from '../src/compile/substitute.js';
import { emitNftText } from '../src/emit/nft-text.js';
import { SHAPES, type Shape } from './generate.js';
import { faultsOf, fmtMs, interleaved, mib, msOf, NFT, ratioCell, roundRatios, sizesFrom, UNIT_FLAGS, type ProcessRun } from './measure.js';
import { systemLine } from './system.js';

const SIZES = sizesFrom(process.env.BENCH_SIZES, '10,100,1000,10000,100000');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const BIN = join(ROOT, 'bin/secmarkc.js');

export function runCompileBench(): string {
  const rows: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'secmarkc-bench-compile-'));
  try {
    for (const shape of Object.keys(SHAPES) as Shape[]) {
      for (const size of SIZES) {
        const policy = join(dir, `${shape}-${size}.yaml`);
        const text = SHAPES[shape](size);
        writeFileSync(policy, text);
        const compiled = compilePolicy(text, policy);
        if (!compiled.ok) throw new Error('benchmark policy does not compile');
        const nftFile = join(dir, `${shape}-${size}.nft`);
        writeFileSync(nftFile, emitNftText(withCounterObjects(compiled.compiled.ruleset)));
        const node = (...args: string[]) => ({ command: process.execPath, args });
        const { runs, peakKiB: peak } = interleaved(
          [node(BIN, 'check', policy), node(BIN, 'compile', policy), node(...UNIT_FLAGS, BIN, 'check', policy), { command: NFT, args: ['-c', '-f', nftFile] }],
          RUNS,
          dir,
        );
        const [check = [], compile = [], jitless = [], nft = []] = runs;
        const over = (runs: ProcessRun[]): string => ratioCell(roundRatios(msOf(runs), msOf(nft)));
        rows.push(
          `| ${shape} | ${size.toLocaleString('en')} | ${fmtMs(msOf(check))} | ${fmtMs(msOf(compile))} | ${fmtMs(msOf(jitless))} | ${fmtMs(msOf(nft))} | ${over(check)} | ${over(compile)} | ${over(jitless)} | ${peak.map(mib).join(' / ')} | ${faultsOf(check)} / ${faultsOf(nft)} |`,
        );
        process.stderr.write(`compile: ${shape} ${size.toLocaleString('en')} done\n`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return [
    '### Compile and check: whole process vs nft -c -f',
    '',
    systemLine(NFT),
    '',
    `Median ± half-IQR of ${RUNS} interleaved rounds (the order rotates from round to round); ratios: the median ± half-IQR of the ratios within each round. Wall time: process.hrtime around the whole child process, nothing in between; faults: the child's minor page faults (median); peak RSS (MiB): GNU time, in one untimed run of each command before the rounds (which also warms the page cache). *check*: \`secmarkc check POLICY\` (parse, compile, overlaps; its SELinux audit finds no loaded policy on this host); *compile*: \`secmarkc compile POLICY\` (the same and the nft text, to /dev/null); *check jitless*: \`check\` under the unit's \`node ${UNIT_FLAGS.join(' ')}\`; *nft -c -f*: nft parsing and evaluating the ruleset \`compile\` prints (counter objects standing in for secmark objects) and a check-only transaction with the kernel, in this private namespace. No target of issue 16 is set on these; they are the honest comparison the apply rows build on.`,
    '',
    '| shape | entries | check | compile | check jitless | nft -c -f | check / nft | compile / nft | check jitless / nft | peak MiB: check / compile / jitless / nft | faults: check / nft |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
  ].join('\n');
}

await runAsScriptInOwnNetns(import.meta.url, async () => runCompileBench());
