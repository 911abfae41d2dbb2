// The Markdown section of the VM per-packet benchmark, from what bench/vm/guest-packet.mjs
// printed: rates per configuration and mode, load times, counter proof and AVC denial counts.

import type { Check } from '../../vm-tests/lib/results.js';
import type { Mode } from '../packet/loadgen.js';
import { median, spread } from '../system.js';

export interface GuestConfig {
  table: string;
  /** The secmark contexts of the rulesets, checked in the guest after the module install. */
  contexts: string[];
  port: number;
  domain: string;
  otherDomain: string;
  seconds: number;
  runs: number;
  modes: Mode[];
  configs: { kind: 'none' | 'secmarkc' | 'linear'; size: number; label: string }[];
  linearProbe?: { size: number; limitSec: number };
  budgetSec: number;
}

interface Hits { ops: number; labelOut: number; labelIn: number; restore: number }

export interface VmResult {
  env?: { kernel: string; nft: string; cpus: string; enforcing: boolean; nftLabel: string };
  moduleMs?: number;
  linearProbe?: { size: number; ms: number; status: string; limitSec: number };
  control?: { domain: string; exit: number | null; stderr: string; avc: string | null };
  configs: {
    label: string;
    layout: 'none' | 'secmarkc' | 'linear';
    size: number;
    rates: Partial<Record<Mode, number[]>>;
    loads: number[];
    proof?: Partial<Record<Mode, Hits>>;
    avc: { denied: number; loadgen: number; sample: string };
  }[];
  checks: Check[];
  bootMs: number;
}

const NAMES: Record<Mode, string> = { conn: 'TCP connect/close', tcprr: 'TCP 1-byte RR', udprr: 'UDP 1-byte RR' };
const int = (n: number): string => Math.round(n).toLocaleString('en');
const sec = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

export function vmReport(title: string, hostLine: string, config: GuestConfig, r: VmResult): string {
  const rows = r.configs;
  const base = rows.find((c) => c.layout === 'none');
  const small = rows.find((c) => c.layout === 'secmarkc');
  const rate = (row: VmResult['configs'][number], m: Mode): number => median(row.rates[m] ?? []);
  // Rounds are interleaved, so a ratio within one round cancels what drifts between rounds (on a
  // shared host the rates of a whole round can move by a factor of several): the median of the
  // per-round ratios, not the ratio of the medians.
  const roundRatio = (row: VmResult['configs'][number], to: VmResult['configs'][number], m: Mode): number => {
    const a = row.rates[m] ?? [];
    const b = to.rates[m] ?? [];
    return median(a.slice(0, b.length).map((x, i) => x / b[i]!));
  };
  const ratio = (row: VmResult['configs'][number], to: VmResult['configs'][number] | undefined, m: Mode): string =>
    to ? roundRatio(row, to, m).toFixed(3) : '–';
  const cell = (row: VmResult['configs'][number], m: Mode): string =>
    `${int(rate(row, m))} ± ${int(spread(row.rates[m] ?? []))} (${ratio(row, base, m)} / ${ratio(row, small, m)})`;
  const change = (layout: string): string[] => {
    const largest = rows.filter((c) => c.layout === layout).at(-1);
    if (!largest || !small || largest === small) return [];
    const parts = config.modes.map((m) => `${NAMES[m]} ${((roundRatio(largest, small, m) - 1) * 100).toFixed(1)}%`);
    return [`- ${largest.label} vs ${small.label}: ${parts.join(', ')}`];
  };
  const env = r.env;
  const guestLine = env
    ? `Guest: QEMU TCG, ${env.cpus} vCPU, kernel ${env.kernel}, ${env.nft}, SELinux ${env.enforcing ? 'enforcing' : 'NOT enforcing'}; host: ${hostLine}`
    : `Host: ${hostLine}`;
  const proof = (row: VmResult['configs'][number]): string =>
    config.modes
      .map((m) => {
        const h = row.proof?.[m];
        return h ? `${NAMES[m]}: ~${int(h.ops)} ops, label out +${int(h.labelOut)} / in +${int(h.labelIn)}, restore +${int(h.restore)}` : `${NAMES[m]}: –`;
      })
      .join('; ');
  const failed = r.checks.filter((c) => c.verdict !== 'PASS');
  return [
    title,
    '',
    guestLine,
    '',
    '**Under TCG every guest instruction is emulated: the absolute numbers say nothing about real hardware. Only the ratios between configurations of this one run count.**',
    '',
    `Median ± half-IQR of ${config.runs} interleaved rounds of ${config.seconds} s per column, operations per second, loadgen client and server both in \`${config.domain}\` over loopback (127.0.0.1:${config.port}); ` +
      `in brackets the ratio to "no ruleset" / to "${small?.label ?? '–'}", the median of the ratios within each round. Real secmark objects, the CIL module installed once (${r.moduleMs === undefined ? '?' : sec(r.moduleMs)} for \`semodule -i\` inside the first apply), every later size applied with \`secmarkc apply --no-module\`. ` +
      'secmarkc\'s rulesets are the loadgen app (2 connect + 2 serve entries) and one filler app in `' + config.otherDomain + '` (the rest); the linear layout has the same entries, one rule each, the loadgen\'s last. ' +
      '"No ruleset" also means no conntrack in the guest; the secmarkc and linear rulesets turn it on.',
    '',
    `| configuration | ${config.modes.map((m) => `${NAMES[m]} /s`).join(' | ')} | load (median) |`,
    `|---|${config.modes.map(() => '---:').join('|')}|---:|`,
    ...rows.map((row) => `| ${row.label} | ${config.modes.map((m) => cell(row, m)).join(' | ')} | ${sec(median(row.loads))} |`),
    '',
    'Change of the largest of each layout against the smallest secmarkc ruleset (median of the per-round ratios):',
    '',
    ...change('secmarkc'),
    ...change('linear'),
    '',
    `Load times are \`secmarkc apply\` (first: with the module) or \`nft -f\` of the linear text, per round, in the guest. Linear sizes measured: ${rows.filter((c) => c.layout === 'linear').map((c) => c.size.toLocaleString('en')).join(', ') || 'none'} (BENCH_VM_LINEAR_SIZES). ${probeText(r.linearProbe)}`,
    '',
    'Proof that the rules saw the traffic (first round; packets counted by the rules that label new connections on output / input, and by the restore rules) and that SELinux allowed it (AVC denials during the measurements, all rounds):',
    '',
    ...rows.map((row) => `- ${row.label}: ${proof(row)}; denials ${row.avc.loadgen} for ${config.domain}, ${row.avc.denied} in all${row.avc.sample ? ` (e.g. ${row.avc.sample})` : ''}`),
    r.control
      ? `- control: the same client in \`${r.control.domain}\` (not granted) exits ${String(r.control.exit)} (${r.control.stderr || 'no message'}), ${r.control.avc ?? 'NO denial seen'}`
      : '- control: not run',
    ...(failed.length ? ['', `Failed checks: ${failed.map((c) => `${c.id} (${JSON.stringify(c.detail)})`).join('; ')}`] : []),
    '',
    `Guest boot to power-off: ${sec(r.bootMs)}.`,
  ].join('\n');
}

function probeText(p: VmResult['linearProbe']): string {
  if (!p) return '';
  const size = p.size.toLocaleString('en');
  if (p.status === 'ok') {
    return `One \`nft -f\` of the linear layout at ${size} rules took ${sec(p.ms)} in this guest (timed once; BENCH_VM_LINEAR_SIZES leaves it out of the measurements, each round would load it again).`;
  }
  if (p.status === 'timeout') return `One \`nft -f\` of the linear layout at ${size} rules did not finish within ${p.limitSec} s in this guest (stopped), so it is left out of the table.`;
  return `One \`nft -f\` of the linear layout at ${size} rules failed (${p.status}).`;
}
