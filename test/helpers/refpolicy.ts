// Debian's refpolicy on the host, for the tests that link CIL into it: semodule -p on a private
// copy of the installed policy store (never the host's), setools on the binary it builds.

import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const STORE = '/var/lib/selinux/default';

/** What this host lacks for those tests (Debian packages); empty when they can run. */
export const refpolicyMissing: readonly string[] = [
  ...(existsSync(`${STORE}/active/modules`) ? [] : ['selinux-policy-default (no policy store at /var/lib/selinux/default)']),
  ...['/usr/sbin/semodule', '/usr/bin/sesearch'].filter((p) => !existsSync(p)).map((p) => `${p} (policycoreutils / setools)`),
  ...(process.getuid?.() === 0 ? [] : ['root (the policy store is readable by root only)']),
];

/** A private copy of the policy store and config under `root`, so semodule -p builds there and not on the host. */
export function copyPolicyStore(root: string): void {
  mkdirSync(join(root, 'var/lib/selinux'), { recursive: true });
  cpSync(STORE, join(root, 'var/lib/selinux/default'), { recursive: true });
  cpSync('/etc/selinux', join(root, 'etc/selinux'), { recursive: true });
}

/** `semodule -p ROOT -n -i FILE` (the copy under root; no reload): how it ended, what it said, how long it took. */
export function semoduleInstall(root: string, file: string): { status: number | null; output: string; seconds: number } {
  const start = process.hrtime.bigint();
  const r = spawnSync('/usr/sbin/semodule', ['-p', root, '-n', '-i', file], { encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}`, seconds: Number(process.hrtime.bigint() - start) / 1e9 };
}
