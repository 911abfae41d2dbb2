// Builds bench/packet/loadgen.c with `cc -O2` into a temp dir and runs it: one server per mode,
// then the client several times for a fixed duration; each run gives operations per second.

import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Mode = 'conn' | 'tcprr' | 'udprr';
export const MODES: readonly Mode[] = ['conn', 'tcprr', 'udprr'];

const SOURCE = fileURLToPath(new URL('./loadgen.c', import.meta.url));

export function buildLoadgen(dir: string): string {
  const bin = join(dir, 'loadgen');
  const r = spawnSync('cc', ['-O2', '-Wall', '-o', bin, SOURCE], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(`cc -O2 loadgen.c failed (Debian package: gcc): ${r.error?.message ?? r.stderr}`);
  return bin;
}

/** One client run: operations per second, and CPU microseconds per operation. */
export interface Sample {
  readonly rate: number;
  /** The client's user + system CPU time plus the server's time on CPU, per operation. */
  readonly cpuPerOp: number;
}

/** The server's time on CPU so far, in seconds (/proc/PID/schedstat: nanoseconds, then more). */
function cpuSeconds(pid: number | undefined): number {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e9;
  } catch {
    return NaN;
  }
}

/**
 * Operations per second of `runs` client runs of `seconds` each against one server, which
 * `enter` (e.g. nsenter into a peer namespace) may run elsewhere.
 */
export async function measure(bin: string, mode: Mode, addr: string, port: number, seconds: number, runs: number, enter: readonly string[] = []): Promise<number[]> {
  return (await measureSamples(bin, mode, addr, port, seconds, runs, enter)).map((s) => s.rate);
}

/**
 * As `measure`, with the CPU time per operation beside the rate: on a shared machine the rate
 * follows the share of the CPUs the loadgen gets, the CPU time per operation much less so.
 */
export async function measureSamples(
  bin: string,
  mode: Mode,
  addr: string,
  port: number,
  seconds: number,
  runs: number,
  enter: readonly string[] = [],
): Promise<Sample[]> {
  const [command = bin, ...prefix] = [...enter, bin];
  const server = spawn(command, [...prefix, 'server', mode, addr, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(server, 'exit');
  try {
    // "ready" once listening; if it exits instead (e.g. bind failed), fail rather than wait forever.
    const first = await Promise.race([once(server.stdout, 'data'), exited]);
    if (!String(first[0]).startsWith('ready')) throw new Error(`loadgen server ${mode} did not start`);
    return Array.from({ length: runs }, () => {
      const serverBefore = cpuSeconds(server.pid);
      const r = spawnSync(bin, ['client', mode, addr, String(port), String(seconds)], { encoding: 'utf8' });
      const serverCpu = cpuSeconds(server.pid) - serverBefore;
      if (r.status !== 0) throw new Error(`loadgen client ${mode} failed: ${r.stderr}`);
      if (r.stderr) process.stderr.write(r.stderr);
      const [ops = NaN, elapsed = NaN, clientCpu = NaN] = r.stdout.trim().split(' ').map(Number);
      return { rate: ops / elapsed, cpuPerOp: ((clientCpu + serverCpu) / ops) * 1e6 };
    });
  } finally {
    // Wait until it is gone, so the next server can bind the same port.
    if (server.exitCode === null && server.signalCode === null) {
      server.kill();
      await exited;
    }
  }
}
