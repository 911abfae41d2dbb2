// The SELinux command-line tools we run, and what to install when one is missing.

import { spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { SecmarkcError } from '../errors.js';

/** Package names per distribution, for the hint when a tool is missing. */
const TOOL_PACKAGES: Record<string, { debian: string; fedora: string }> = {
  semodule: { debian: 'policycoreutils', fedora: 'policycoreutils' },
  seinfo: { debian: 'setools', fedora: 'setools-console' },
  sesearch: { debian: 'setools', fedora: 'setools-console' },
  semanage: { debian: 'policycoreutils-python-utils', fedora: 'policycoreutils-python-utils' },
  systemctl: { debian: 'systemd', fedora: 'systemd' },
  dmesg: { debian: 'util-linux', fedora: 'util-linux' },
  restorecon: { debian: 'policycoreutils', fedora: 'policycoreutils' },
  chcon: { debian: 'coreutils', fedora: 'coreutils' },
  stat: { debian: 'coreutils', fedora: 'coreutils' },
};

/** Where system tools live when PATH is bare (a unit, sudo's secure_path), after PATH itself. */
const FALLBACK_PATH = ['/usr/sbin', '/sbin', '/usr/bin', '/bin', '/usr/local/sbin', '/usr/local/bin'];

export class MissingToolError extends SecmarkcError {
  constructor(readonly tool: string) {
    const pkg = TOOL_PACKAGES[tool] ?? { debian: tool, fedora: tool };
    super('SMC111', `${tool} not found on PATH: install it (Debian/Ubuntu: apt-get install ${pkg.debian}; Fedora: dnf install ${pkg.fedora})`);
  }
}

/**
 * Absolute path of a system tool: the first executable on $PATH, then the usual system folders.
 * Never from a node_modules/.bin folder, which npm puts first on PATH for its scripts.
 */
export function findTool(tool: string, path = process.env.PATH ?? ''): string {
  const dirs = [...path.split(':').filter((d) => d.startsWith('/') && !d.includes('/node_modules/')), ...FALLBACK_PATH];
  for (const dir of dirs) {
    const candidate = `${dir}/${tool}`;
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  throw new MissingToolError(tool);
}

export interface ToolResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const EXIT_MARK = '\nsecmarkc-tool-exit=';

/**
 * Run a tool with its output (stdout and stderr together) captured through a plain pipe made by
 * sh. Node gives children a socketpair for stdio, and confined tools such as semodule (which
 * enters semanage_t) may not write to the caller's sockets: their output would be lost.
 */
export function runTool(tool: string, args: readonly string[]): ToolResult {
  const script = `{ "$0" "$@" 2>&1; printf '${EXIT_MARK.replace('\n', '\\n')}%s\\n' "$?"; } | cat`;
  // stdin from /dev/null: semodule's helpers (setfiles_t) may not use the caller's socket either.
  const r = spawnSync('/bin/sh', ['-c', script, findTool(tool), ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error) throw r.error;
  const at = r.stdout.lastIndexOf(EXIT_MARK);
  const output = at < 0 ? r.stdout : r.stdout.slice(0, at);
  const status = at < 0 ? r.status : Number(r.stdout.slice(at + EXIT_MARK.length).trim());
  return { status, stdout: output, stderr: output + r.stderr };
}

/**
 * Run a program that stays in the caller's domain (no transition: plain pipes are fine) with
 * `input` on stdin; stdout and stderr apart, for a program that prints data.
 */
export function runToolWithInput(path: string, args: readonly string[], input: string): ToolResult {
  const r = spawnSync(path, args, { encoding: 'utf8', input, maxBuffer: 256 * 1024 * 1024, stdio: ['pipe', 'pipe', 'pipe'] });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
