// Timing of whole processes for the benchmarks: wall time from process.hrtime around spawnSync
// (never a tool's own clock), peak RSS and minor page faults from GNU time (/usr/bin/time -f
// '%M %R'), and per-round ratios. Every process compared is wrapped the same way, so GNU time's
// own fork and exec (~1 ms) is in both sides of a ratio.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { median, spread } from './system.js';

export const NFT = '/usr/sbin/nft';
/** The unit's V8 switches (packaging/systemd/secmarkc.service): what boot runs today. */
export const UNIT_FLAGS = ['--jitless', '--no-expose-wasm'];
const GNU_TIME = '/usr/bin/time';

/**
 * Children run without NODE_EXTRA_CA_CERTS: some environments (CI sandboxes) set it, and Node
 * then parses a CA bundle at every start (~30 ms here) that no administrator's shell pays.
 */
export const CHILD_ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_EXTRA_CA_CERTS'));

export interface ProcessRun {
  ms: number;
  /** Peak resident set (KiB) and minor page faults, from GNU time; NaN without it. */
  peakKiB: number;
  faults: number;
  stdout: string;
}

export interface TimedOptions {
  /** Where GNU time writes its line (a file in the bench's temporary directory). */
  scratch: string;
  /** Keep stdout (status compares it); otherwise it goes to /dev/null, as from a unit. */
  capture?: boolean;
  okStatus?: number;
}

export function timedProcess(command: string, args: readonly string[], { scratch, capture = false, okStatus = 0 }: TimedOptions): ProcessRun {
  const gnuTime = existsSync(GNU_TIME);
  const out = join(scratch, 'gnu-time');
  const [cmd, argv] = gnuTime ? [GNU_TIME, ['-f', '%M %R', '-o', out, command, ...args]] : [command, args];
  const start = process.hrtime.bigint();
  const r = spawnSync(cmd, argv, {
    encoding: 'utf8',
    env: CHILD_ENV,
    stdio: ['ignore', capture ? 'pipe' : 'ignore', 'pipe'],
    maxBuffer: 256 * 1024 * 1024,
  });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== okStatus) throw new Error(`${command} ${args.join(' ')} exited ${r.status}: ${r.stderr.slice(-2000)}`);
  const [peak = NaN, faults = NaN] = gnuTime ? readFileSync(out, 'utf8').trim().split('\n').pop()!.split(' ').map(Number) : [];
  return { ms, peakKiB: peak, faults, stdout: r.stdout ?? '' };
}

/** a[i] / b[i] of runs made in the same round: robust to a host that changes speed between rounds. */
export const roundRatios = (a: readonly number[], b: readonly number[]): number[] => a.map((x, i) => x / b[i]!);

export const msOf = (runs: readonly ProcessRun[]): number[] => runs.map((r) => r.ms);

/** "123.4 ± 5.6 ms": median ± half-IQR. */
export const fmtMs = (values: readonly number[], digits = 1): string => `${median(values).toFixed(digits)} ± ${spread(values).toFixed(digits)} ms`;

/** Median peak RSS in MiB, "–" without GNU time. */
export function peakMiB(runs: readonly ProcessRun[]): string {
  const m = median(runs.map((r) => r.peakKiB));
  return Number.isFinite(m) ? (m / 1024).toFixed(1) : '–';
}

export function faultsOf(runs: readonly ProcessRun[]): string {
  const m = median(runs.map((r) => r.faults));
  return Number.isFinite(m) ? Math.round(m).toLocaleString('en') : '–';
}

/**
 * `rounds` rounds of every command once; the order rotates from round to round so that no
 * command always follows the same one (a child's evicted caches, the kernel's deferred work).
 * Result: runs per command, index = round.
 */
export function interleaved<const T extends readonly (() => ProcessRun)[]>(commands: T, rounds: number): { [K in keyof T]: ProcessRun[] } {
  const runs = commands.map(() => [] as ProcessRun[]);
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < commands.length; k++) {
      const j = (k + round) % commands.length;
      runs[j]!.push(commands[j]!());
    }
  }
  return runs as { [K in keyof T]: ProcessRun[] };
}

/** Median and spread of per-round ratios as a table cell: "0.52 ± 0.03". */
export const ratioCell = (ratios: readonly number[]): string => `${median(ratios).toFixed(2)} ± ${spread(ratios).toFixed(2)}`;

/** Sizes from an env knob ("10,100,1000"), or the default. */
export const sizesFrom = (value: string | undefined, fallback: string): number[] => (value ?? fallback).split(',').filter(Boolean).map(Number);
