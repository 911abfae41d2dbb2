// Timing of whole processes for the benchmarks: wall time from process.hrtime around spawnSync
// (never a tool's own clock) and the child's minor page faults (this process's cminflt), with
// nothing in between: GNU time (/usr/bin/time -f '%M %R') adds a fork, an exec and its own
// start to what it wraps (tens of ms on a loaded 2-core host), which would inflate the small
// processes (nft -f of 10 entries takes ~20 ms) more than the large. Peak RSS comes from one
// untimed run of each command under GNU time, which also warms the page cache.

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
  /** Peak resident set (KiB): from GNU time when the run was wrapped (`peak`), else NaN. */
  peakKiB: number;
  /** Minor page faults of the child. */
  faults: number;
  stdout: string;
}

export interface TimedOptions {
  /** Where GNU time writes its line (a file in the bench's temporary directory). */
  scratch: string;
  /** Keep stdout (status compares it); otherwise it goes to /dev/null, as from a unit. */
  capture?: boolean;
  okStatus?: number;
  /** Run under GNU time for the peak RSS (then `ms` includes GNU time's own start). */
  peak?: boolean;
}

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

export function timedProcess(command: string, args: readonly string[], { scratch, capture = false, okStatus = 0, peak = false }: TimedOptions): ProcessRun {
  const gnuTime = peak && existsSync(GNU_TIME);
  const out = join(scratch, 'gnu-time');
  const [cmd, argv] = gnuTime ? [GNU_TIME, ['-f', '%M', '-o', out, command, ...args]] : [command, args];
  const faultsBefore = childMinorFaults();
  const start = process.hrtime.bigint();
  const r = spawnSync(cmd, argv, {
    encoding: 'utf8',
    env: CHILD_ENV,
    stdio: ['ignore', capture ? 'pipe' : 'ignore', 'pipe'],
    maxBuffer: 256 * 1024 * 1024,
  });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const faults = childMinorFaults() - faultsBefore;
  if (r.status !== okStatus) throw new Error(`${command} ${args.join(' ')} exited ${r.status}: ${r.stderr.slice(-2000)}`);
  const peakKiB = gnuTime ? Number(readFileSync(out, 'utf8').trim().split('\n').pop()) : NaN;
  return { ms, peakKiB, faults, stdout: r.stdout ?? '' };
}

/** a[i] / b[i] of runs made in the same round: robust to a host that changes speed between rounds. */
export const roundRatios = (a: readonly number[], b: readonly number[]): number[] => a.map((x, i) => x / b[i]!);

export const msOf = (runs: readonly ProcessRun[]): number[] => runs.map((r) => r.ms);

/** "123.4 ± 5.6 ms": median ± half-IQR. */
export const fmtMs = (values: readonly number[], digits = 1): string => `${median(values).toFixed(digits)} ± ${spread(values).toFixed(digits)} ms`;

/** Peak RSS in MiB, "–" without GNU time. */
export const mib = (kib: number | undefined): string => (kib !== undefined && Number.isFinite(kib) ? (kib / 1024).toFixed(1) : '–');

export function faultsOf(runs: readonly ProcessRun[]): string {
  const m = median(runs.map((r) => r.faults));
  return Number.isFinite(m) ? Math.round(m).toLocaleString('en') : '–';
}

/** A command of a round: what to run, how (as timedProcess). */
export interface Command {
  command: string;
  args: readonly string[];
}

export interface Measured {
  /** Runs per command, index = round. */
  runs: ProcessRun[][];
  /** Peak RSS (KiB) of each command, from its untimed first run under GNU time. */
  peakKiB: number[];
}

/**
 * One untimed run of every command under GNU time (peak RSS; warms the page cache), then
 * `rounds` timed rounds of every command once; the order rotates from round to round so that no
 * command always follows the same one (a child's evicted caches, the kernel's deferred work).
 */
export function interleaved(commands: readonly Command[], rounds: number, scratch: string): Measured {
  const peakKiB = commands.map((c) => timedProcess(c.command, c.args, { scratch, peak: true }).peakKiB);
  const runs = commands.map(() => [] as ProcessRun[]);
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < commands.length; k++) {
      const j = (k + round) % commands.length;
      runs[j]!.push(timedProcess(commands[j]!.command, commands[j]!.args, { scratch }));
    }
  }
  return { runs, peakKiB };
}

/** Median and spread of per-round ratios as a table cell: "0.52 ± 0.03". */
export const ratioCell = (ratios: readonly number[]): string => `${median(ratios).toFixed(2)} ± ${spread(ratios).toFixed(2)}`;

/** Sizes from an env knob ("10,100,1000"), or the default. */
export const sizesFrom = (value: string | undefined, fallback: string): number[] => (value ?? fallback).split(',').filter(Boolean).map(Number);
