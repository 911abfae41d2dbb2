// bench/apply: the whole `secmarkc apply --no-lsm` process vs `nft -f` of the same ruleset, for
// both shapes (exact entries, prefixes × port ranges) at 10 … 100,000 entries, with the CLI's
// default V8 flags and with the unit's `--jitless --no-expose-wasm` (the old boot path); at the
// small sizes also `apply` and `check` vs `node -e ''` (the floor of a Node CLI); all in one
// private namespace, interleaved. Then the library's in-process apply vs the floor: the same
// batch, encoded beforehand, sent by the addon and acknowledged (what the kernel itself costs).
// Re-runs itself under `unshare -n`. Uses the built CLI (npm run build).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runAsScriptInOwnNetns } from './own-netns.js';
import { replaceTable } from '../src/apply/apply.js';
import { NetfilterSession } from '../src/apply/session.js';
import { encodeRuleset } from '../src/netlink/encode-ruleset.js';
import { compilePolicy } from '../src/compile/compile.js';
import type { Ruleset } from '../src/compile/ir.js';
import { withCounterObjects } from '../src/compile/substitute.js';
import { emitNftText } from '../src/emit/nft-text.js';
import { SHAPES, type Shape } from './generate.js';
import { faultsOf, fmtMs, interleaved, mib, msOf, NFT, ratioCell, roundRatios, sizesFrom, UNIT_FLAGS, type Command, type ProcessRun } from './measure.js';
import { median, systemLine } from './system.js';
import { judge, verdictLine, type BenchReport, type TargetResult } from './verdict.js';

const SIZES = sizesFrom(process.env.BENCH_SIZES, '10,100,1000,10000,100000');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
/** Sizes of the interactive target (apply, check vs `node -e ''`): cheap, so more rounds. */
const SMALL = [10, 100];
const SMALL_RUNS = Number(process.env.BENCH_SMALL_RUNS ?? 15);
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const BIN = join(ROOT, 'bin/secmarkc.js');
/**
 * Library applies before the measured ones, at least this many and for at least this long: a
 * resident caller runs optimised code, and five applies of 1,000 entries (a few ms) are too few
 * for V8 to optimise the encoder (1.5 ms per encode instead of 0.2 ms); the time bound covers
 * that, and two applies of 100,000 entries (seconds each) warm them as well as five.
 */
const WARMUP = 2;
const WARMUP_MS = 2000;

/** Issue 16's limits (ratios, lower is better); issue 6's library target kept in the section. */
export const LIMITS = { interactive: 1.3, intervalAt10k: 1.0, intervalAt100k: 0.7, boot: 0.5, libraryOverFloor: 1.3 };

interface Cell {
  shape: Shape;
  size: number;
  /** Peak RSS (KiB) by command: apply, jitless, nft, and at SMALL sizes check, bare. */
  peakKiB: number[];
  apply: ProcessRun[];
  jitless: ProcessRun[];
  nft: ProcessRun[];
  /** At SMALL sizes only. */
  check?: ProcessRun[];
  bare?: ProcessRun[];
  library: number[];
  floor: number[];
}

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

function rulesetOf(text: string, file: string): Ruleset {
  const compiled = compilePolicy(text, file);
  if (!compiled.ok) throw new Error('benchmark policy does not compile');
  return withCounterObjects(compiled.compiled.ruleset);
}

async function measureCell(dir: string, shape: Shape, size: number): Promise<Cell> {
  const policy = join(dir, `${shape}-${size}.yaml`);
  const text = SHAPES[shape](size);
  writeFileSync(policy, text);
  const ruleset = rulesetOf(text, policy);
  const nftFile = join(dir, `${shape}-${size}.nft`);
  writeFileSync(nftFile, emitNftText(ruleset));
  const state = join(dir, 'state');
  const node = (...args: string[]): Command => ({ command: process.execPath, args });
  const applyArgs = [BIN, 'apply', '--no-lsm', '--no-module', '--state-dir', state, policy];
  const commands = [node(...applyArgs), node(...UNIT_FLAGS, ...applyArgs), { command: NFT, args: ['-f', nftFile] }];
  const small = SMALL.includes(size);
  if (small) commands.push(node(BIN, 'check', policy), node('-e', ''));
  // Every measured run replaces an existing table of this size.
  await replaceTable(ruleset);
  const { runs, peakKiB } = interleaved(commands, small ? Math.max(RUNS, SMALL_RUNS) : RUNS, dir);
  const [apply, jitless, nft, check, bare] = runs;
  // In-process runs in a loop of their own, after the warm-up: right after a child process
  // the first call pays for caches the child evicted, which the floor after it would not.
  const preEncoded = encodeRuleset(ruleset, { mode: 'replace' });
  const warmupStart = Date.now();
  for (let i = 0; i < WARMUP || Date.now() - warmupStart < WARMUP_MS; i++) await replaceTable(ruleset);
  const library: number[] = [];
  const floor: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = process.hrtime.bigint();
    await replaceTable(ruleset);
    library.push(Number(process.hrtime.bigint() - start) / 1e6);
    floor.push(await floorOnce(preEncoded));
  }
  process.stderr.write(`apply: ${shape} ${size.toLocaleString('en')} done\n`);
  return { shape, size, peakKiB, apply: apply!, jitless: jitless!, nft: nft!, ...(small ? { check: check!, bare: bare! } : {}), library, floor };
}

const n = (size: number): string => size.toLocaleString('en');

function targetsOf(cells: readonly Cell[]): { issue16: TargetResult[]; section: TargetResult[] } {
  const issue16: TargetResult[] = [];
  const section: TargetResult[] = [];
  for (const c of cells) {
    if (c.check && c.bare) {
      issue16.push(judge(`interactive: \`apply\`, ${c.shape}, ${n(c.size)} entries / \`node -e ''\``, roundRatios(msOf(c.apply), msOf(c.bare)), LIMITS.interactive));
      issue16.push(judge(`interactive: \`check\`, ${c.shape}, ${n(c.size)} entries / \`node -e ''\``, roundRatios(msOf(c.check), msOf(c.bare)), LIMITS.interactive));
    }
    const limit = c.shape === 'interval' ? (c.size === 10_000 ? LIMITS.intervalAt10k : c.size === 100_000 ? LIMITS.intervalAt100k : undefined) : undefined;
    if (limit !== undefined) {
      issue16.push(judge(`interval shape: \`apply\`, ${n(c.size)} entries / \`nft -f\``, roundRatios(msOf(c.apply), msOf(c.nft)), limit));
      issue16.push(judge(`interval shape: \`apply\` jitless, ${n(c.size)} entries / \`nft -f\``, roundRatios(msOf(c.jitless), msOf(c.nft)), limit));
    }
    section.push(judge(`old boot path (node ${UNIT_FLAGS.join(' ')} apply), ${c.shape}, ${n(c.size)} entries / \`nft -f\``, roundRatios(msOf(c.jitless), msOf(c.nft)), LIMITS.boot));
    if (c.size >= 1000) section.push(judge(`issue 6: library apply, ${c.shape}, ${n(c.size)} entries / floor`, roundRatios(c.library, c.floor), LIMITS.libraryOverFloor));
  }
  return { issue16, section };
}

function report(cells: readonly Cell[]): BenchReport {
  const { issue16, section } = targetsOf(cells);
  const processRows = cells.map(
    (c) =>
      `| ${c.shape} | ${n(c.size)} | ${fmtMs(msOf(c.apply))} | ${fmtMs(msOf(c.jitless))} | ${fmtMs(msOf(c.nft))} | ${ratioCell(roundRatios(msOf(c.apply), msOf(c.nft)))} | ${ratioCell(roundRatios(msOf(c.jitless), msOf(c.nft)))} | ${mib(c.peakKiB[0])} / ${mib(c.peakKiB[1])} / ${mib(c.peakKiB[2])} | ${faultsOf(c.apply)} / ${faultsOf(c.jitless)} / ${faultsOf(c.nft)} |`,
  );
  const smallCells = cells.filter((c) => c.check && c.bare);
  const smallRows = smallCells.map(
    (c) =>
      `| ${c.shape} | ${n(c.size)} | ${fmtMs(msOf(c.bare!))} | ${fmtMs(msOf(c.apply))} | ${fmtMs(msOf(c.check!))} | ${ratioCell(roundRatios(msOf(c.apply), msOf(c.bare!)))} | ${ratioCell(roundRatios(msOf(c.check!), msOf(c.bare!)))} | ${mib(c.peakKiB[4])} / ${mib(c.peakKiB[0])} / ${mib(c.peakKiB[3])} |`,
  );
  const libraryRows = cells.map(
    (c) => `| ${c.shape} | ${n(c.size)} | ${fmtMs(c.library, 2)} | ${fmtMs(c.floor, 2)} | ${ratioCell(roundRatios(c.library, c.floor))} (${(median(c.library) / median(c.floor)).toFixed(2)}) |`,
  );
  const text = [
    '### Apply: whole process vs nft -f, same ruleset, same namespace',
    '',
    systemLine(NFT),
    '',
    `Median ± half-IQR of ${RUNS} interleaved rounds (${Math.max(RUNS, SMALL_RUNS)} at ${SMALL.map(n).join(' and ')} entries; the order of the commands rotates from round to round). Wall time: process.hrtime around the whole child process, nothing in between; faults: the child's minor page faults (median); peak RSS (MiB): GNU time, in one untimed run of each command before the rounds (which also warms the page cache). Ratios: the median ± half-IQR of the ratios within each round (the host changes speed between rounds: see RESULTS.md). Counter objects stand in for secmark objects (no SELinux on the host). Children run without \`NODE_EXTRA_CA_CERTS\`. *apply*: \`node bin/secmarkc.js apply --no-lsm --no-module --state-dir D POLICY\` (the CLI's V8 flags, bin/bundle-loader.js); *jitless*: the same under the unit's \`node ${UNIT_FLAGS.join(' ')}\`, the old boot path; *nft -f*: the same ruleset as nft text. Shapes: *exact*, one address and one tcp port per entry (hash maps); *interval*, IPv4 /29 and IPv6 /48 prefixes × tcp port ranges (interval maps; IPv4 only up to 100 entries).`,
    '',
    '| shape | entries | apply | apply jitless | nft -f | apply / nft | jitless / nft | peak MiB: apply / jitless / nft | faults: apply / jitless / nft |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...processRows,
    '',
    ...(smallRows.length
      ? [
          "#### Interactive: `apply` and `check` of small policies vs `node -e ''`",
          '',
          "Same rounds as above (default flags; `check POLICY` as an administrator types it: on this host without SELinux its audit reports \"not audited\").",
          '',
          "| shape | entries | `node -e ''` | apply | check | apply / node | check / node | peak MiB: node / apply / check |",
          '|---|---:|---:|---:|---:|---:|---:|---:|',
          ...smallRows,
          '',
        ]
      : []),
    '#### In-process: the library apply vs the floor',
    '',
    `*library*: \`replaceTable()\` in a running process (after warm-up applies: at least ${WARMUP} and ${WARMUP_MS / 1000} s): read the generation, encode, send, read the acknowledgements. *floor*: the same batch encoded beforehand, sent and acknowledged. ${RUNS} alternating runs; in brackets the ratio of the medians.`,
    '',
    '| shape | entries | library | floor | library / floor |',
    '|---|---:|---:|---:|---:|',
    ...libraryRows,
    '',
    'Verdicts (issue 16):',
    '',
    ...issue16.map((t) => `- ${verdictLine(t)}`),
    '',
    `The old boot path against the boot target (≤ ${LIMITS.boot}× \`nft -f\`; the baseline the native loader replaces), and issue 6's library target:`,
    '',
    ...section.map((t) => `- ${verdictLine(t)}`),
  ].join('\n');
  return { text, targets: issue16 };
}

export async function runApplyBench(): Promise<BenchReport> {
  const dir = mkdtempSync(join(tmpdir(), 'secmarkc-bench-'));
  try {
    const cells: Cell[] = [];
    for (const shape of Object.keys(SHAPES) as Shape[]) for (const size of SIZES) cells.push(await measureCell(dir, shape, size));
    return report(cells);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await runAsScriptInOwnNetns(import.meta.url, async () => (await runApplyBench()).text);
