// The SELinux command-line tools we run, and what to install when one is missing.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const TOOL_PACKAGES: Record<string, string> = {
  semodule: 'policycoreutils',
  seinfo: 'setools',
  sesearch: 'setools',
  semanage: 'policycoreutils-python-utils',
};

const SEARCH_PATH = ['/usr/sbin', '/sbin', '/usr/bin', '/bin', '/usr/local/sbin', '/usr/local/bin'];

export class MissingToolError extends Error {
  constructor(readonly tool: string) {
    super(`${tool} not found: install it (Debian/Ubuntu: apt-get install ${TOOL_PACKAGES[tool] ?? tool}; Fedora: dnf install ${TOOL_PACKAGES[tool] ?? tool})`);
    this.name = 'MissingToolError';
  }
}

/** Absolute path of a system tool; never from node_modules/.bin, which npm puts first on PATH. */
export function findTool(tool: string): string {
  for (const dir of SEARCH_PATH) {
    const path = `${dir}/${tool}`;
    if (existsSync(path)) return path;
  }
  throw new MissingToolError(tool);
}

export interface ToolResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runTool(tool: string, args: readonly string[]): ToolResult {
  const r = spawnSync(findTool(tool), args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
