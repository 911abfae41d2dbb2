// The binary SELinux policy the kernel loads at boot: /etc/selinux/config's SELINUXTYPE, then the
// highest-numbered policy.N in /etc/selinux/<type>/policy/ (what libselinux's
// selinux_mkload_policy picks). semodule rewrites it with every module change, so its identity
// (inode, size, times) tells secmarkc-boot whether the policy the exclusivity audit ran against is
// still the one that will be loaded.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface FileIdentity {
  readonly path: string;
  readonly dev: bigint;
  readonly ino: bigint;
  readonly size: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
}

export function fileIdentity(path: string): FileIdentity {
  const st = statSync(path, { bigint: true });
  return { path, dev: st.dev, ino: st.ino, size: st.size, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs };
}

/** The boot-time binary policy file, or undefined when it cannot be told. */
export function bootPolicyFile(selinuxDir = '/etc/selinux'): FileIdentity | undefined {
  try {
    const config = readFileSync(join(selinuxDir, 'config'), 'utf8');
    const type = /^\s*SELINUXTYPE\s*=\s*"?([A-Za-z0-9_.-]+)"?\s*$/m.exec(config)?.[1];
    if (!type) return undefined;
    const dir = join(selinuxDir, type, 'policy');
    const versions = readdirSync(dir).flatMap((name) => {
      const m = /^policy\.(\d+)$/.exec(name);
      return m ? [Number(m[1])] : [];
    });
    if (versions.length === 0) return undefined;
    return fileIdentity(join(dir, `policy.${Math.max(...versions)}`));
  } catch {
    return undefined;
  }
}
