// npm run bench: every benchmark, as one Markdown report on stdout (progress on stderr), ending
// with one summary table of issue 16's targets (value, spread, verdict: met / not met / not shown).
// Knobs (defaults in brackets):
//   BENCH_ONLY=startup,compile,apply,boot,status,packet,vmpacket   a subset [all but vmpacket]
//   BENCH_SIZES [10,100,1000,10000,100000], BENCH_RUNS [5]         compile and apply, both shapes
//   BENCH_SMALL_RUNS [15]       rounds at 10 and 100 entries (apply/check vs `node -e ''`)
//   BENCH_STARTUP_RUNS [10]                                        startup
//   BENCH_STATUS_SIZES [10000,100000], BENCH_STATUS_RUNS [5]       status
//   BENCH_PACKET_SIZES / BENCH_LINEAR_SIZES / BENCH_PACKET_PATHS / BENCH_PACKET_SECONDS /
//   BENCH_PACKET_RUNS / BENCH_PACKET_SETTLE_S                      per-packet, host (bench/packet.ts)
//   BENCH_VM_SIZES / BENCH_VM_LINEAR_SIZES / BENCH_VM_SECONDS / BENCH_VM_RUNS
//                                   per-packet in the SELinux test guest (only when BENCH_ONLY
//                                   names vmpacket: a guest boot under TCG; last, as the slowest)
// The boot benchmark (bench/boot.ts, the native loader vs nft -f): BENCH_BOOT_SIZES, BENCH_RUNS [11].
// The defaults take ~15-20 minutes on a 2-core machine (most of it per-packet); the quick shape
// of the report: BENCH_ONLY=compile,apply BENCH_RUNS=3 BENCH_SMALL_RUNS=3 BENCH_SIZES=10,1000.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runApplyBench } from './apply.js';
import { runCompileBench } from './compile.js';
import { measurePackets, type PacketVerdict } from './packet.js';
import { runStatusBench } from './status.js';
import { runStartupBench } from './startup.js';
import { runVmPacketBench } from './vmpacket.js';
import { summaryTable, unmeasured, type BenchReport, type TargetResult } from './verdict.js';

const inNetns = process.env.SECMARKC_BENCH_IN_NETNS === '1';
const only = process.env.BENCH_ONLY?.split(',');
/** The VM's per-packet run (a guest boot under TCG, minutes) only when BENCH_ONLY names it. */
const wanted = (name: string): boolean => (only ? only.includes(name) : name !== 'vmpacket');
const netnsOnly = (name: string): string => `(${name} benchmark: run \`npx tsx bench/${name}.ts\`, which enters its own network namespace)`;
const BOOT_MODULE = fileURLToPath(new URL('./boot.ts', import.meta.url));

/**
 * Issue 16's targets, in the summary's order. A benchmark's targets take the place of its
 * placeholder (those matching `match`, if given); a target nobody measured stays, "not shown".
 */
const PLACEHOLDERS: { bench: string; match?: RegExp; target: string; limit: number }[] = [
  { bench: 'boot', target: 'boot path (native loader) / `nft -f`, 10 … 100,000 entries, exact and interval', limit: 0.5 },
  { bench: 'apply', match: /^interactive/, target: "interactive: `apply`, `check` of 10 and 100 entries / `node -e ''`", limit: 1.3 },
  { bench: 'apply', match: /^interval shape.*10,000 /, target: 'interval shape: `apply` / `nft -f` at 10,000 entries, default and jitless', limit: 1.0 },
  { bench: 'apply', match: /^interval shape.*100,000 /, target: 'interval shape: `apply` / `nft -f` at 100,000 entries, default and jitless', limit: 0.7 },
  { bench: 'packet', target: 'per-packet: cost of a new connection at 100,000 entries / at 10, exact and interval', limit: 1.05 },
];

const targets = new Map<string, TargetResult[]>();
const notes = new Map<string, string>();

/** Print a benchmark's section; keep its targets if it reports them (a plain string reports none). */
function take(name: string, result: string | BenchReport): void {
  if (typeof result === 'string') {
    console.log(result + '\n');
    notes.set(name, `the ${name} benchmark reports no verdicts to this table: see its section`);
    return;
  }
  console.log(result.text + '\n');
  targets.set(name, [...(targets.get(name) ?? []), ...result.targets]);
}

async function bootBench(): Promise<string | BenchReport> {
  if (!existsSync(BOOT_MODULE)) return 'boot benchmark: not built in this tree';
  // A specifier in a variable: the module is another branch's, and may not exist here.
  const specifier = './boot.js';
  const boot = (await import(specifier)) as { runBootBench: () => Promise<string | BenchReport> };
  return boot.runBootBench();
}

/**
 * The per-packet verdicts as targets: the cost of a new connection at the largest size over the
 * smallest (CPU time per connection, median of per-round ratios), spread half their IQR, judged
 * like every other target (a margin within the spread is "not shown").
 */
function packetReport({ report, verdicts }: { report: string; verdicts: PacketVerdict[] }): BenchReport {
  const targets = verdicts.map((v): TargetResult => {
    const value = 1 + v.change;
    const noise = (v.high - v.low) / 2;
    const margin = 1.05 - value;
    const verdict = Math.abs(margin) <= noise ? 'not shown' : margin > 0 ? 'met' : 'not met';
    return { target: `per-packet: cost of a new connection, ${v.shape}, ${v.path}, ${v.largest.toLocaleString('en')} / ${v.smallest.toLocaleString('en')} entries`, limit: 1.05, value, spread: noise, verdict };
  });
  return { text: report, targets };
}

console.log(`# secmarkc benchmarks (${new Date().toISOString().slice(0, 10)})\n`);
if (wanted('startup')) take('startup', runStartupBench());
if (wanted('compile')) take('compile', inNetns ? runCompileBench() : netnsOnly('compile'));
if (wanted('apply')) take('apply', inNetns ? await runApplyBench() : netnsOnly('apply'));
if (wanted('boot')) {
  const result = inNetns ? await bootBench() : netnsOnly('boot');
  take('boot', result);
  if (result === 'boot benchmark: not built in this tree') notes.set('boot', 'not built in this tree: no bench/boot.ts');
}
if (wanted('status')) take('status', inNetns ? await runStatusBench() : netnsOnly('status'));
if (wanted('packet')) take('packet', inNetns ? packetReport(await measurePackets()) : netnsOnly('packet'));
if (wanted('vmpacket')) take('vmpacket', await runVmPacketBench());

// Every target has a row: measured ones as measured, the others "not shown" with the reason.
const placed = new Set<TargetResult>();
const rows = PLACEHOLDERS.flatMap((p) => {
  const measured = (targets.get(p.bench) ?? []).filter((t) => !p.match || p.match.test(t.target));
  measured.forEach((t) => placed.add(t));
  if (measured.length) return measured;
  const why = !wanted(p.bench) ? 'not selected (BENCH_ONLY)' : (notes.get(p.bench) ?? `the ${p.bench} benchmark measured no such row (sizes: BENCH_SIZES)`);
  return [unmeasured(p.target, p.limit, why)];
});
const unplaced = [...targets.values()].flat().filter((t) => !placed.has(t));
console.log(summaryTable([...rows, ...unplaced]));
