// Spawn the CLI as a user would, from source, and capture everything.

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ENTRY = fileURLToPath(new URL('./cli-entry.ts', import.meta.url));
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: readonly string[], input?: string): CliResult {
  const r = spawnSync(process.execPath, ['--import=tsx', ENTRY, ...args], { cwd: ROOT, input, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * runCli in a private mount namespace where each of `hidden` (absolute paths) is covered by
 * /dev/null, which is no executable: the CLI runs as on a host without those tools. Root only.
 */
export function runCliWithout(hidden: readonly string[], args: readonly string[]): CliResult {
  const mounts = hidden.map((p) => `[ -e '${p}' ] && mount --bind /dev/null '${p}'`).join('; ');
  const script = `${mounts}; exec "$0" "$@"`;
  const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script, process.execPath, '--import=tsx', ENTRY, ...args], { cwd: ROOT, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
