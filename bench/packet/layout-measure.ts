// Measures the candidate layouts of bench/packet/layouts.ts: TCP connections per second (the
// loadgen's `conn` mode over loopback, a new connection = one lookup) with the interval shape
// (interval-shape.ts) at two sizes, each layout loaded by `nft -f` with counter objects. Rounds
// are interleaved (every configuration once per round, the order rotated each round); the
// verdicts are medians of per-round ratios. Results: bench/layout-notes.md.
//
//   npx tsx bench/packet/layout-measure.ts        (re-runs itself under `unshare -n`)
//   LAYOUT_SIZES=10,100000 LAYOUT_RUNS=8 LAYOUT_SECONDS=3 LAYOUT_LAYOUTS=concat,port-dispatch LAYOUT_REPEAT=16

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compilePolicy } from '../../src/compile/compile.js';
import { withCounterObjects } from '../../src/compile/substitute.js';
import { runAsScriptInOwnNetns } from '../own-netns.js';
import { median, systemLine } from '../system.js';
import { readHits } from './hits.js';
import { intervalPolicy, LOADGEN_INTERVAL_APP } from './interval-shape.js';
import { LAYOUTS, layoutNftText, repeatLookups, type LayoutName } from './layouts.js';
import { buildLoadgen, measureSamples } from './loadgen.js';

const NFT = '/usr/sbin/nft';
const list = (v: string | undefined, d: string): string[] => (v ?? d).split(',').filter(Boolean);
const SIZES = list(process.env.LAYOUT_SIZES, '10,100000').map(Number);
const CHOSEN = list(process.env.LAYOUT_LAYOUTS, LAYOUTS.join(',')) as LayoutName[];
const RUNS = Number(process.env.LAYOUT_RUNS ?? 8);
const SECONDS = Number(process.env.LAYOUT_SECONDS ?? 3);
const SETTLE_S = Number(process.env.LAYOUT_SETTLE_S ?? 1.5);
const PORT = 5001;
/** Each lookup rule this many times over (layouts.ts, repeatLookups): 1 is the ruleset as it is. */
const REPEAT = Number(process.env.LAYOUT_REPEAT ?? 1);

interface Config { layout: LayoutName; size: number; file: string; rates: number[]; cpu: number[]; proof: string }

function quantile(values: readonly number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

async function run(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'secmarkc-layout-'));
  try {
    spawnSync('ip', ['link', 'set', 'lo', 'up']);
    const bin = buildLoadgen(dir);
    const configs: Config[] = [];
    for (const size of SIZES) {
      const c = compilePolicy(intervalPolicy(size - 4, LOADGEN_INTERVAL_APP), 'bench.yaml');
      if (!c.ok) throw new Error('interval policy does not compile');
      const ruleset = repeatLookups(withCounterObjects(c.compiled.ruleset), REPEAT);
      for (const layout of CHOSEN) {
        const file = join(dir, `${layout}-${size}.nft`);
        writeFileSync(file, layoutNftText(ruleset, layout));
        configs.push({ layout, size, file, rates: [], cpu: [], proof: '' });
      }
    }
    for (let round = 0; round < RUNS; round++) {
      for (let k = 0; k < configs.length; k++) {
        const config = configs[(k + round) % configs.length]!;
        const r = spawnSync(NFT, ['-f', config.file], { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`nft -f ${config.file}: ${r.stderr}`);
        await new Promise((resolve) => setTimeout(resolve, SETTLE_S * 1000));
        const before = await readHits('secmarkc_bench', 'loadgen_client');
        const [sample] = await measureSamples(bin, 'conn', '127.0.0.1', PORT, SECONDS, 1);
        const after = await readHits('secmarkc_bench', 'loadgen_client');
        const rate = sample?.rate ?? NaN;
        config.rates.push(rate);
        config.cpu.push(sample?.cpuPerOp ?? NaN);
        if (round === 0) config.proof = `~${Math.round(rate * SECONDS)} connections, loadgen_client +${after.labelled - before.labelled}`;
      }
      process.stderr.write(`layout: round ${round + 1}/${RUNS}\n`);
    }
    const small = SIZES[0]!;
    const find = (layout: LayoutName, size: number): Config => configs.find((c) => c.layout === layout && c.size === size)!;
    const ratio = (a: Config, b: Config, of: 'rates' | 'cpu'): string => {
      const rs = a[of].map((v, k) => v / b[of][k]!);
      const pct = (x: number): string => `${((x - 1) * 100).toFixed(1)} %`;
      return `${pct(median(rs))} (IQR ${pct(quantile(rs, 0.25))} … ${pct(quantile(rs, 0.75))}; min ${pct(Math.min(...rs))}, max ${pct(Math.max(...rs))})`;
    };
    const rows = configs.map((c) => {
      const vs = (to: Config, of: 'rates' | 'cpu'): string => (to === c ? '–' : ratio(c, to, of));
      const own = find(c.layout, small);
      const concat = find('concat', small);
      return `| ${c.layout} | ${c.size.toLocaleString('en')} | ${median(c.cpu).toFixed(1)} | ${vs(own, 'cpu')} | ${vs(concat, 'cpu')} | ${Math.round(median(c.rates)).toLocaleString('en')} | ${vs(own, 'rates')} | ${c.proof} |`;
    });
    return [
      systemLine(NFT),
      '',
      `${RUNS} interleaved rounds of ${SECONDS} s of TCP connect/close over loopback per configuration (${SETTLE_S} s after each load, the order rotated each round)${REPEAT > 1 ? `, each lookup rule ${REPEAT} times over (a new connection pays for ${REPEAT} lookups)` : ''}; ` +
        'CPU µs per connection = client user + system time plus server time on CPU, over connections; changes are medians of per-round ratios (IQR, min and max of those ratios beside them).',
      '',
      `| layout | entries | CPU µs/conn (median) | CPU change vs same layout at ${small} | CPU change vs concat at ${small} | connections/s (median) | rate change vs same layout at ${small} | proof (round 1) |`,
      '|---|---|---|---|---|---|---|---|',
      ...rows,
    ].join('\n');
  } finally {
    spawnSync(NFT, ['delete', 'table', 'inet', 'secmarkc_bench'], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  }
}

await runAsScriptInOwnNetns(import.meta.url, run);
