// Builds bench/packet/loadgen.c with `cc -O2` into a temp dir and runs it: one server per mode,
// then the client several times for a fixed duration; each run gives operations per second.

import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
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

/**
 * Operations per second of `runs` client runs of `seconds` each against one server, which
 * `enter` (e.g. nsenter into a peer namespace) may run elsewhere.
 */
export async function measure(
  bin: string,
  mode: Mode,
  addr: string,
  port: number,
  seconds: number,
  runs: number,
  enter: readonly string[] = [],
): Promise<number[]> {
  const [command = bin, ...prefix] = [...enter, bin];
  const server = spawn(command, [...prefix, 'server', mode, addr, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(server, 'exit');
  try {
    // "ready" once listening; if it exits instead (e.g. bind failed), fail rather than wait forever.
    const first = await Promise.race([once(server.stdout, 'data'), exited]);
    if (!String(first[0]).startsWith('ready')) throw new Error(`loadgen server ${mode} did not start`);
    return Array.from({ length: runs }, () => {
      const r = spawnSync(bin, ['client', mode, addr, String(port), String(seconds)], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`loadgen client ${mode} failed: ${r.stderr}`);
      if (r.stderr) process.stderr.write(r.stderr);
      const [ops = 'NaN', elapsed = 'NaN'] = r.stdout.trim().split(' ');
      return Number(ops) / Number(elapsed);
    });
  } finally {
    // Wait until it is gone, so the next server can bind the same port.
    if (server.exitCode === null && server.signalCode === null) {
      server.kill();
      await exited;
    }
  }
}
