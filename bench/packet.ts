// bench/packet: per-packet cost of the ruleset on the host, in a private network namespace.
// Traffic from bench/packet/loadgen.c (connection rate, TCP and UDP request/response) over
// loopback and over a veth pair to a peer namespace (BENCH_PACKET_PATHS), with no ruleset,
// with secmarkc's ruleset (counter objects standing in for secmark objects) at
// BENCH_PACKET_SIZES entries of each shape in BENCH_PACKET_SHAPES, and with the linear
// one-rule-per-entry layout at BENCH_LINEAR_SIZES. Shapes: `exact` (single addresses and ports,
// bench/generate.ts: the exact maps) and `interval` (prefixes and port ranges,
// bench/packet/interval-shape.ts: the interval maps). The loadgen's own destinations (127.0.0.1
// and the peer 192.0.2.2, tcp and udp port 5001; in the interval shape 127.0.0.0/8 and
// 192.0.2.0/30, ports 5001-5002, so that its connections are looked up in the interval map) are
// entries (4 of the N); the hit counts of its object and of the restore rule prove the rules saw
// the traffic. The machine is shared, so runs are interleaved: each of BENCH_PACKET_RUNS rounds
// loads every configuration in turn and measures each column once, and slow drift hits all
// configurations alike instead of a few.
// Re-runs itself under `unshare -n` unless already there (npm run bench).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAsScriptInOwnNetns } from './own-netns.js';
import { deleteTable, replaceTable } from '../src/apply/apply.js';
import { compilePolicy } from '../src/compile/compile.js';
import type { Ruleset } from '../src/compile/ir.js';
import { withCounterObjects } from '../src/compile/substitute.js';
import { generatePolicy } from './generate.js';
import { readHits } from './packet/hits.js';
import { intervalPolicy, LOADGEN_INTERVAL_APP } from './packet/interval-shape.js';
import { linearNftText } from './packet/linear.js';
import { buildLoadgen, measureSamples, MODES, type Mode } from './packet/loadgen.js';
import { createPeer, PEER, type Peer } from './packet/veth.js';
import { median, spread, systemLine } from './system.js';

const NFT = '/usr/sbin/nft';
const TABLE = 'secmarkc_bench';
const PORT = 5001;
const OBJECT = 'loadgen_client';
const list = (v: string | undefined, d: string): string[] => (v ?? d).split(',').filter(Boolean);
const SIZES = list(process.env.BENCH_PACKET_SIZES, '10,1000,100000').map(Number);
export type Shape = 'exact' | 'interval';
const SHAPES = list(process.env.BENCH_PACKET_SHAPES, 'exact,interval') as Shape[];
/**
 * The target (issue 16): per shape, the cost of a new connection (CPU time per connection) at the
 * largest size within 5 % of the smallest.
 */
const FLAT_LIMIT = 0.05;
const LINEAR_SIZES = list(process.env.BENCH_LINEAR_SIZES, '10,1000,10000,100000').map(Number);
const PATHS = list(process.env.BENCH_PACKET_PATHS, 'loopback,veth');
const SECONDS = Number(process.env.BENCH_PACKET_SECONDS ?? 3);
const RUNS = Number(process.env.BENCH_PACKET_RUNS ?? 3);
/**
 * Seconds to wait after loading a configuration: the kernel finishes a transaction's deferred work
 * (freeing the replaced table, growing a large hash set) in workers, which would otherwise compete
 * with the first columns measured.
 */
const SETTLE_S = Number(process.env.BENCH_PACKET_SETTLE_S ?? 2);
const LOADGEN_APP = `  loadgen:\n    domain: loadgen_t\n    connect:\n      - to: [127.0.0.1, ${PEER}]\n        ports: [tcp/${PORT}, udp/${PORT}]\n`;
const LOADGEN_ENTRIES = 4;

/** Where the server runs; the client always runs here, where the ruleset is. */
interface Path { name: string; addr: string; enter: readonly string[] }
/** One measurement column: a mode over a path. */
type Column = `${string} ${Mode}`;
interface Config { label: string; shape?: Shape; load: () => Promise<unknown> }
interface Row { label: string; shape?: Shape; rates: Map<Column, number[]>; cpu: Map<Column, number[]>; proof: string[] }

function compiled(entries: number, shape: Shape = 'exact'): Ruleset {
  const filler = Math.max(0, entries - LOADGEN_ENTRIES);
  const policy = shape === 'exact' ? generatePolicy(filler, 'allow', LOADGEN_APP) : intervalPolicy(filler, LOADGEN_INTERVAL_APP);
  const c = compilePolicy(policy, 'bench.yaml');
  if (!c.ok) throw new Error(`benchmark policy (${shape}) does not compile`);
  return withCounterObjects(c.compiled.ruleset);
}

/**
 * Change of the cost of a new connection from the smallest to the largest size of one shape, over
 * one path: CPU time per connection (client and server), which on a shared machine is much less
 * noisy than the connection rate (that follows the share of the CPUs the loadgen gets); the rate's
 * change is given beside it.
 */
export interface PacketVerdict {
  readonly shape: Shape;
  readonly path: string;
  readonly smallest: number;
  readonly largest: number;
  /** Median of the per-round ratios of CPU time per connection, minus 1 (0.03 = 3 % costlier). */
  readonly change: number;
  /** The 25th and 75th percentile of those ratios, minus 1. */
  readonly low: number;
  readonly high: number;
  /** The same for the connection rate (−0.03 = 3 % fewer connections per second). */
  readonly rateChange: number;
  readonly rateLow: number;
  readonly rateHigh: number;
  /** The median change of the cost is within the 5 % target. */
  readonly flat: boolean;
  /** The interquartile range of the ratios straddles the target: the verdict is inside the noise. */
  readonly inNoise: boolean;
}

/** Every configuration, compiled once up front so that reloading it costs only the kernel (and nft). */
function configurations(dir: string): Config[] {
  const none = { label: 'no ruleset', load: () => deleteTable(TABLE) };
  const ours = SHAPES.flatMap((shape) =>
    SIZES.map((n) => {
      const ruleset = compiled(n, shape);
      return { label: `secmarkc ${shape}, ${n.toLocaleString('en')} entries`, shape, load: () => replaceTable(ruleset) };
    }),
  );
  const linear = LINEAR_SIZES.map((n) => {
    const file = join(dir, `linear-${n}.nft`);
    writeFileSync(file, linearNftText(compiled(n), OBJECT));
    return {
      label: `linear, ${n.toLocaleString('en')} rules`,
      load: async () => {
        const r = spawnSync(NFT, ['-f', file], { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`nft -f ${file}: ${r.stderr}`);
      },
    };
  });
  return [none, ...ours, ...linear];
}

export async function runPacketBench(): Promise<string> {
  return (await measurePackets()).report;
}

/** The report and the per-shape verdicts (bench/run.ts may print the verdicts in its summary). */
export async function measurePackets(): Promise<{ report: string; verdicts: PacketVerdict[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'secmarkc-packet-'));
  let peer: Peer | undefined;
  try {
    spawnSync('ip', ['link', 'set', 'lo', 'up']);
    const bin = buildLoadgen(dir);
    const paths: Path[] = [];
    if (PATHS.includes('loopback')) paths.push({ name: 'loopback', addr: '127.0.0.1', enter: [] });
    if (PATHS.includes('veth')) {
      peer = await createPeer();
      paths.push({ name: 'veth', addr: PEER, enter: peer.enter });
    }
    const configs = configurations(dir);
    const rows: Row[] = configs.map((c) => ({ label: c.label, ...(c.shape ? { shape: c.shape } : {}), rates: new Map(), cpu: new Map(), proof: [] }));
    for (let round = 0; round < RUNS; round++) {
      for (const [i, config] of configs.entries()) {
        await config.load();
        await new Promise((resolve) => setTimeout(resolve, SETTLE_S * 1000));
        for (const path of paths) {
          for (const mode of MODES) {
            const before = await readHits(TABLE, OBJECT);
            const [sample] = await measureSamples(bin, mode, path.addr, PORT, SECONDS, 1, path.enter);
            const after = await readHits(TABLE, OBJECT);
            const column: Column = `${path.name} ${mode}`;
            const rate = sample?.rate ?? NaN;
            rows[i]!.rates.set(column, [...(rows[i]!.rates.get(column) ?? []), rate]);
            rows[i]!.cpu.set(column, [...(rows[i]!.cpu.get(column) ?? []), sample?.cpuPerOp ?? NaN]);
            if (round === 0) {
              const ops = Math.round(rate * SECONDS).toLocaleString('en');
              rows[i]!.proof.push(`${column}: ~${ops} ops, ${OBJECT} +${after.labelled - before.labelled}, restore +${after.restored - before.restored}`);
            }
          }
        }
        process.stderr.write(`packet: round ${round + 1}/${RUNS}, ${config.label} done\n`);
      }
    }
    const verdicts = verdictsOf(rows, paths);
    return { report: report(rows, paths, verdicts), verdicts };
  } finally {
    spawnSync(NFT, ['delete', 'table', 'inet', TABLE], { stdio: 'ignore' });
    peer?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const NAMES: Record<Mode, string> = { conn: 'TCP connect/close', tcprr: 'TCP 1-byte RR', udprr: 'UDP 1-byte RR' };

/**
 * Per-round ratios of r's rates (or CPU times per operation) to `to`'s in one column: each round
 * measures every configuration once, so a ratio within a round cancels drift of the machine
 * between rounds.
 */
function ratios(r: Row, to: Row, c: Column, of: 'rates' | 'cpu' = 'rates'): number[] {
  const theirs = to[of].get(c) ?? [];
  return (r[of].get(c) ?? []).map((v, k) => v / theirs[k]!);
}

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/**
 * The flatness verdict per shape and path, on the connection rate: only a new connection looks
 * its entries up (the request/response columns measure the restore rule, the same at every size).
 */
function verdictsOf(rows: Row[], paths: Path[]): PacketVerdict[] {
  return SHAPES.flatMap((shape) => {
    const mine = rows.filter((r) => r.shape === shape);
    const small = mine[0];
    const large = mine.at(-1);
    if (!small || !large || small === large) return [];
    return paths.map((p) => {
      const cost = ratios(large, small, `${p.name} conn`, 'cpu');
      const rate = ratios(large, small, `${p.name} conn`);
      const change = median(cost) - 1;
      const low = quantile(cost, 0.25) - 1;
      const high = quantile(cost, 0.75) - 1;
      return {
        shape,
        path: p.name,
        smallest: SIZES[0]!,
        largest: SIZES.at(-1)!,
        change,
        low,
        high,
        rateChange: median(rate) - 1,
        rateLow: quantile(rate, 0.25) - 1,
        rateHigh: quantile(rate, 0.75) - 1,
        flat: change <= FLAT_LIMIT,
        inNoise: low <= FLAT_LIMIT && high > FLAT_LIMIT,
      };
    });
  });
}

function verdictLine(v: PacketVerdict): string {
  const pct = (x: number): string => `${(x * 100).toFixed(1)} %`;
  const verdict = v.flat ? 'flat (within 5 %)' : 'NOT flat (more than 5 % costlier)';
  return (
    `- ${v.shape}, ${v.path}: ${v.largest.toLocaleString('en')} vs ${v.smallest.toLocaleString('en')} entries, CPU per connection ${pct(v.change)} ` +
    `(IQR of the per-round ratios ${pct(v.low)} … ${pct(v.high)}): ${verdict}${v.inNoise ? ', inside the noise' : ''}; ` +
    `connections/s ${pct(v.rateChange)} (IQR ${pct(v.rateLow)} … ${pct(v.rateHigh)})`
  );
}

function report(rows: Row[], paths: Path[], verdicts: readonly PacketVerdict[]): string {
  const base = rows[0]!;
  const rate = (r: Row, c: Column): number => median(r.rates.get(c) ?? []);
  const ratioOf = (r: Row, to: Row, c: Column): number => median(ratios(r, to, c));
  // The smallest secmarkc ruleset of the row's own shape (of the exact shape for the linear rows).
  const smallOf = (r: Row): Row | undefined => rows.find((s) => s.shape === (r.shape ?? 'exact')) ?? rows.find((s) => s.shape);
  const small = rows.find((r) => r.shape);
  const cell = (r: Row, c: Column): string => {
    const ratio = (to: Row | undefined): string => (to ? ratioOf(r, to, c).toFixed(3) : '–');
    return `${Math.round(rate(r, c)).toLocaleString('en')} ± ${Math.round(spread(r.rates.get(c) ?? [])).toLocaleString('en')} (${ratio(base)} / ${ratio(smallOf(r))})`;
  };
  const cpuCell = (r: Row, c: Column): string => {
    const values = r.cpu.get(c) ?? [];
    const ratio = (to: Row | undefined): string => (to ? median(ratios(r, to, c, 'cpu')).toFixed(3) : '–');
    return `${median(values).toFixed(1)} ± ${spread(values).toFixed(1)} (${ratio(base)} / ${ratio(smallOf(r))})`;
  };
  const table = (path: Path): string[] => [
    `#### ${path.name === 'veth' ? `veth pair to a peer namespace (server at ${PEER})` : 'loopback (client and server at 127.0.0.1)'}`,
    '',
    `| configuration | ${MODES.map((m) => `${NAMES[m]} /s`).join(' | ')} | CPU µs per TCP connection |`,
    `|---|${MODES.map(() => '---:').join('|')}|---:|`,
    ...rows.map((r) => `| ${r.label} | ${MODES.map((m) => cell(r, `${path.name} ${m}`)).join(' | ')} | ${cpuCell(r, `${path.name} conn`)} |`),
    '',
  ];
  const change = (prefix: string): string[] => {
    const largest = rows.filter((r) => r.label.startsWith(prefix)).at(-1);
    const small = largest && smallOf(largest);
    if (!largest || !small || largest === small) return [];
    const parts = paths.flatMap((p) =>
      MODES.map((m) => `${p.name} ${NAMES[m]} ${((ratioOf(largest, small, `${p.name} ${m}`) - 1) * 100).toFixed(1)}%`),
    );
    return [`- ${largest.label} vs ${small.label}: ${parts.join(', ')}`];
  };
  return [
    '### Per-packet cost on the host (private namespace)',
    '',
    systemLine(NFT),
    '',
    `Median ± half-IQR of ${RUNS} interleaved rounds of ${SECONDS} s per column (after ${SETTLE_S} s of quiet following each load), operations per second (and, for TCP connect/close, CPU µs per connection: the client's user and system time plus the server's time on CPU); in brackets the ratio to "no ruleset" / to the smallest secmarkc ruleset of the same shape (the linear rows: of the exact shape, "${small?.label ?? '–'}"), the median of the ratios within each round. ` +
      'Counter objects stand in for secmark objects. The linear layout puts the loadgen\'s 4 rules last (worst case). ' +
      'Both layouts look entries up for new connections only (ct state new, as gennetfilter\'s NEW-only chain), so the connection rate measures the lookup, and request/response on an established connection measures the restore rule. ' +
      '"No ruleset" also means no conntrack in the namespace; the secmarkc and linear rulesets turn it on.',
    '',
    ...paths.flatMap(table),
    'Target (issue 16): for every shape, the cost of a new TCP connection (where the maps are looked up) at the largest size within 5 % of the smallest. ' +
      'The verdict is on CPU time per connection, as the connection rate on a shared machine follows the share of the CPUs the loadgen gets; the rate change is beside it. Verdicts, from the per-round ratios:',
    '',
    ...verdicts.map(verdictLine),
    '',
    'Change of the largest of each against the smallest secmarkc ruleset of its shape (the linear layout: of the exact shape), every column:',
    '',
    ...SHAPES.flatMap((shape) => change(`secmarkc ${shape}`)),
    ...change('linear'),
    '',
    'Proof that the rules saw the traffic, from the first round (packets counted by the loadgen object, i.e. labelled new connections, and by the output chain\'s restore rule):',
    '',
    ...rows.map((r) => `- ${r.label}: ${r.proof.join('; ')}`),
  ].join('\n');
}

await runAsScriptInOwnNetns(import.meta.url, runPacketBench);
