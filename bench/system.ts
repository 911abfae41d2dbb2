// Machine, kernel and tool versions for the top of every benchmark report.

import { spawnSync } from 'node:child_process';
import { cpus, loadavg, release, totalmem } from 'node:os';

export function systemLine(nft: string): string {
  const nftVersion = spawnSync(nft, ['--version'], { encoding: 'utf8' }).stdout.trim() || 'nft not found';
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  // The load average says whether the machine was shared while this ran: read the numbers with it.
  const load = loadavg().map((l) => l.toFixed(2)).join(' ');
  return `${cpus().length} × ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB, kernel ${release()}, node ${process.version}, ${nftVersion}; load average ${load}`;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Half the distance between the 25th and 75th percentile, as a spread a reader can compare. */
export function spread(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return (at(0.75) - at(0.25)) / 2;
}
