// Host tests against Debian's real refpolicy, without an SELinux kernel: a private copy of the
// installed policy store gets our CIL (semodule -p ROOT -n -i), so libsepol links it and writes
// the binary policy that setools then reads. The host's own store is never written.
// Without root, the store or the tools such a test is skipped with the reason in its title;
// under CI=true it runs and fails with that reason instead (.ci/run installs the packages).

import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext, type TestFn } from 'ava';

export const STORE = '/var/lib/selinux/default';
export const SEMODULE = '/usr/sbin/semodule';

function probe(): string | undefined {
  const missing = [
    ...(process.getuid?.() === 0 ? [] : ['root (the policy store is readable by root only)']),
    ...(existsSync(`${STORE}/active/modules`) ? [] : [`selinux-policy-default (no policy store at ${STORE})`]),
    ...[`${SEMODULE} (policycoreutils)`, '/usr/bin/sesearch (setools)'].filter((p) => !existsSync(p.split(' ')[0]!)),
  ];
  return missing.length > 0 ? `needs ${missing.join(', ')}` : undefined;
}

export const refpolicySkipReason = probe();
const failInstead = refpolicySkipReason !== undefined && process.env.CI === 'true';

/**
 * `test` when the store and tools are here, else `test.skip`; under CI=true `test`, and
 * `refpolicyMissing` fails it. Use with `refpolicyTitle` so that the reason shows.
 */
export const refpolicyTest: TestFn = refpolicySkipReason && !failInstead ? (test.skip as unknown as TestFn) : test;
/** The same for `test.serial`. */
export const refpolicySerialTest: TestFn['serial'] = refpolicySkipReason && !failInstead ? (test.serial.skip as unknown as TestFn['serial']) : test.serial;

export function refpolicyTitle(title: string): string {
  return refpolicySkipReason ? `${title} [${failInstead ? 'fails' : 'skipped'}: ${refpolicySkipReason}]` : title;
}

/** True (and the test failed) when the store or a tool is missing: under CI=true the test runs to say so. */
export function refpolicyMissing(t: ExecutionContext): boolean {
  if (!refpolicySkipReason) return false;
  t.fail(`${refpolicySkipReason} (CI=true: a missing tool is a failure, not a skip)`);
  return true;
}

/**
 * A fresh private root (mkdtemp) holding a copy of the policy store and of /etc/selinux.
 * `neverallow`: link with expand-check=1, so that libsepol also checks refpolicy's neverallow
 * rules, which Debian's semanage.conf skips (expand-check=0).
 */
export function policyRoot(prefix = 'secmarkc-refpolicy-', options: { neverallow?: boolean } = {}): string {
  const root = mkdtempSync(join(tmpdir(), prefix));
  mkdirSync(join(root, 'var/lib/selinux'), { recursive: true });
  cpSync(STORE, join(root, 'var/lib/selinux/default'), { recursive: true });
  cpSync('/etc/selinux', join(root, 'etc/selinux'), { recursive: true });
  if (options.neverallow) {
    const conf = join(root, 'etc/selinux/semanage.conf');
    const text = readFileSync(conf, 'utf8');
    writeFileSync(conf, /^expand-check\s*=/m.test(text) ? text.replace(/^expand-check\s*=.*$/m, 'expand-check=1') : `${text}\nexpand-check=1\n`);
  }
  return root;
}

/** The binary policy semodule -p ROOT builds (and rebuilds on every install). */
export function binaryPolicy(root: string): string {
  return join(root, 'var/lib/selinux/default/active/policy.kern');
}

export interface Spawned {
  status: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

/** spawnSync's answer without blocking the event loop, so that callers may run several at once. */
export function spawnAsync(command: string, args: readonly string[], input?: string): Promise<Spawned> {
  const start = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const out: string[] = [];
    const err: string[] = [];
    child.stdout!.setEncoding('utf8').on('data', (s: string) => out.push(s));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => err.push(s));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout: out.join(''), stderr: err.join(''), seconds: Number(process.hrtime.bigint() - start) / 1e9 }));
    if (input !== undefined) child.stdin!.end(input);
  });
}

export interface Installed {
  status: number | null;
  output: string;
  seconds: number;
}

/**
 * Install CIL modules into ROOT's store in one transaction (each named after its file), without
 * a reload: the whole store is relinked, several seconds each.
 */
export async function semoduleInstall(root: string, files: readonly string[]): Promise<Installed> {
  const r = await spawnAsync(SEMODULE, ['-p', root, '-n', ...files.flatMap((f) => ['-i', f])]);
  return { status: r.status, output: r.stdout + r.stderr, seconds: r.seconds };
}
