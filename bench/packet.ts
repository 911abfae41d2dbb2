// bench/packet: per-packet cost of the ruleset on the host, in a private network namespace.
// Traffic from bench/packet/loadgen.c (connection rate, TCP and UDP request/response) over
// loopback and over a veth pair to a peer namespace (BENCH_PACKET_PATHS), with no ruleset,
// with secmarkc's ruleset (counter objects standing in for secmark objects) at
// BENCH_PACKET_SIZES entries, and with the linear one-rule-per-entry layout at BENCH_LINEAR_SIZES.
// The loadgen's own destinations (127.0.0.1 and the peer 192.0.2.2, tcp and udp port 5001) are
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
import { linearNftText } from './packet/linear.js';
import { buildLoadgen, measure, MODES, type Mode } from './packet/loadgen.js';
import { createPeer, PEER, type Peer } from './packet/veth.js';
import { median, spread, systemLine } from './system.js';

const NFT = '/usr/sbin/nft';
const TABLE = 'secmarkc_bench';
const PORT = 5001;
const OBJECT = 'loadgen_client';
const list = (v: string | undefined, d: string): string[] => (v ?? d).split(',').filter(Boolean);
const SIZES = list(process.env.BENCH_PACKET_SIZES, '10,1000,100000').map(Number);
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
interface Config { label: string; load: () => Promise<unknown> }
interface Row { label: string; rates: Map<Column, number[]>; proof: string[] }

function compiled(entries: number): Ruleset {
  const c = compilePolicy(generatePolicy(Math.max(0, entries - LOADGEN_ENTRIES), 'allow', LOADGEN_APP), 'bench.yaml');
  if (!c.ok) throw new Error('benchmark policy does not compile');
  return withCounterObjects(c.compiled.ruleset);
}

/** Every configuration, compiled once up front so that reloading it costs only the kernel (and nft). */
function configurations(dir: string): Config[] {
  const none = { label: 'no ruleset', load: () => deleteTable(TABLE) };
  const ours = SIZES.map((n) => {
    const ruleset = compiled(n);
    return { label: `secmarkc, ${n.toLocaleString('en')} entries`, load: () => replaceTable(ruleset) };
  });
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
    const rows: Row[] = configs.map((c) => ({ label: c.label, rates: new Map(), proof: [] }));
    for (let round = 0; round < RUNS; round++) {
      for (const [i, config] of configs.entries()) {
        await config.load();
        await new Promise((resolve) => setTimeout(resolve, SETTLE_S * 1000));
        for (const path of paths) {
          for (const mode of MODES) {
            const before = await readHits(TABLE, OBJECT);
            const [rate = NaN] = await measure(bin, mode, path.addr, PORT, SECONDS, 1, path.enter);
            const after = await readHits(TABLE, OBJECT);
            const column: Column = `${path.name} ${mode}`;
            rows[i]!.rates.set(column, [...(rows[i]!.rates.get(column) ?? []), rate]);
            if (round === 0) {
              const ops = Math.round(rate * SECONDS).toLocaleString('en');
              rows[i]!.proof.push(`${column}: ~${ops} ops, ${OBJECT} +${after.labelled - before.labelled}, restore +${after.restored - before.restored}`);
            }
          }
        }
        process.stderr.write(`packet: round ${round + 1}/${RUNS}, ${config.label} done\n`);
      }
    }
    return report(rows, paths);
  } finally {
    spawnSync(NFT, ['delete', 'table', 'inet', TABLE], { stdio: 'ignore' });
    peer?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const NAMES: Record<Mode, string> = { conn: 'TCP connect/close', tcprr: 'TCP 1-byte RR', udprr: 'UDP 1-byte RR' };

function report(rows: Row[], paths: Path[]): string {
  const base = rows[0]!;
  const small = rows.find((r) => r.label.startsWith('secmarkc'));
  const rate = (r: Row, c: Column): number => median(r.rates.get(c) ?? []);
  // Ratios are medians of per-round ratios: each round measures every configuration once, so a
  // ratio within a round cancels drift of the machine between rounds.
  const ratioOf = (r: Row, to: Row, c: Column): number => {
    const mine = r.rates.get(c) ?? [];
    const theirs = to.rates.get(c) ?? [];
    return median(mine.map((v, k) => v / theirs[k]!));
  };
  const cell = (r: Row, c: Column): string => {
    const ratio = (to: Row | undefined): string => (to ? ratioOf(r, to, c).toFixed(3) : '–');
    return `${Math.round(rate(r, c)).toLocaleString('en')} ± ${Math.round(spread(r.rates.get(c) ?? [])).toLocaleString('en')} (${ratio(base)} / ${ratio(small)})`;
  };
  const table = (path: Path): string[] => [
    `#### ${path.name === 'veth' ? `veth pair to a peer namespace (server at ${PEER})` : 'loopback (client and server at 127.0.0.1)'}`,
    '',
    `| configuration | ${MODES.map((m) => `${NAMES[m]} /s`).join(' | ')} |`,
    `|---|${MODES.map(() => '---:').join('|')}|`,
    ...rows.map((r) => `| ${r.label} | ${MODES.map((m) => cell(r, `${path.name} ${m}`)).join(' | ')} |`),
    '',
  ];
  const change = (prefix: string): string[] => {
    const largest = rows.filter((r) => r.label.startsWith(prefix)).at(-1);
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
    `Median ± half-IQR of ${RUNS} interleaved rounds of ${SECONDS} s per column (after ${SETTLE_S} s of quiet following each load), operations per second; in brackets the ratio to "no ruleset" / to "${small?.label ?? '–'}", the median of the ratios within each round. ` +
      'Counter objects stand in for secmark objects. The linear layout puts the loadgen\'s 4 rules last (worst case). ' +
      'Both layouts look entries up for new connections only (ct state new, as gennetfilter\'s NEW-only chain), so the connection rate measures the lookup, and request/response on an established connection measures the restore rule. ' +
      '"No ruleset" also means no conntrack in the namespace; the secmarkc and linear rulesets turn it on.',
    '',
    ...paths.flatMap(table),
    'Target (issue 6): secmarkc at 100,000 entries within 5% of 10 entries; the linear layout not. Change of the largest of each against the smallest secmarkc ruleset:',
    '',
    ...change('secmarkc'),
    ...change('linear'),
    '',
    'Proof that the rules saw the traffic, from the first round (packets counted by the loadgen object, i.e. labelled new connections, and by the output chain\'s restore rule):',
    '',
    ...rows.map((r) => `- ${r.label}: ${r.proof.join('; ')}`),
  ].join('\n');
}

await runAsScriptInOwnNetns(import.meta.url, runPacketBench);
