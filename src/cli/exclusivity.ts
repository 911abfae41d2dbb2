// The exclusivity audit as the commands run it: options, which SELinux policy to ask (a file
// given with --selinux-policy, else the loaded one), and how the answer is reported.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { readTrusted, writeFileDurably } from '../records/state-dir.js';
import { auditExclusivity, describeAudit, type ExclusivityAudit, type TypeLabel } from '../audit/exclusive.js';
import type { CilModule, PacketType } from '../compile/ir.js';
import { describeOrigin, packetTypeOrigins } from '../explain/origins.js';
import type { Policy } from '../policy/types.js';
import { LOADED_POLICY, packetUsers, parseQueryOutput, withEnforcing, type PacketUsers } from '../selinux/packet-users.js';

export interface AuditOptions {
  /** A binary policy file (as `sesearch POLICY` takes) instead of the loaded one. */
  selinuxPolicy?: string;
  /** false with --no-audit. */
  audit?: boolean;
}

export function addAuditOptions(command: Command): Command {
  return command
    .option('--selinux-policy <file>', 'audit against this binary SELinux policy (e.g. /etc/selinux/default/policy/policy.33) instead of the loaded one')
    .option('--no-audit', 'skip the exclusivity audit (who else may use the packet types)');
}

/** Is there a policy to audit against? (A host without SELinux has none loaded.) */
export function auditTarget(options: AuditOptions): string | 'loaded' | undefined {
  if (options.audit === false) return undefined;
  if (options.selinuxPolicy !== undefined) return options.selinuxPolicy;
  return existsSync(LOADED_POLICY) ? 'loaded' : undefined;
}

export function typeLabeller(policy: Policy): { forType: (type: PacketType) => TypeLabel; name: (type: string) => string } {
  const origins = packetTypeOrigins(policy, undefined);
  const name = (type: string): string => {
    const origin = origins.get(type)?.[0];
    if (!origin) return type;
    if (origin.kind === 'app') return `app "${origin.app}" ${origin.direction}`;
    return describeOrigin(origin);
  };
  return { forType: (type) => ({ what: name(type.name), span: type.span }), name };
}

/**
 * Runs setools (a child process); throws MissingToolError / PacketUsersError when it cannot.
 * With `cacheDir`, setools' answer for the loaded policy is kept there, keyed by the sha256 of
 * the policy image the kernel exports (current booleans included), so an apply that changed no
 * SELinux policy does not load it again (seconds on a host, a minute under emulation).
 */
export function runAudit(policy: Policy, module: CilModule, target: string | 'loaded', cache?: { dir: string; write: boolean }): ExclusivityAudit {
  const types = module.types.map((t) => t.name);
  const users = target === 'loaded' && cache ? cachedUsers(types, cache.dir, cache.write) : packetUsers(types, target === 'loaded' ? undefined : target);
  return auditExclusivity(module, users, typeLabeller(policy).forType, policy.table.span);
}

function cachedUsers(types: readonly string[], dir: string, write: boolean): PacketUsers {
  const key = createHash('sha256').update(readFileSync(LOADED_POLICY)).update(`\0${[...types].sort().join(',')}`).digest('hex');
  const file = join(dir, 'audit-cache.json');
  try {
    const bytes = readTrusted(file); // like the records: never through a symlink, root's file only
    if (bytes === undefined) throw new Error('no cache');
    const cached = JSON.parse(bytes.toString('utf8')) as { key?: unknown; found?: unknown };
    // The same checks as setools' own answer: nothing unchecked reaches a diagnostic.
    if (cached.key === key) return withEnforcing(parseQueryOutput(JSON.stringify(cached.found)));
  } catch {
    // No cache, or not ours to trust: ask setools.
  }
  const users = packetUsers(types);
  if (write && existsSync(dir)) {
    try {
      writeFileDurably(file, [Buffer.from(JSON.stringify({ key, found: { types: users.types, permissive: users.permissive } }))], dir);
    } catch {
      // A cache that cannot be written costs time, not correctness.
    }
  }
  return users;
}


/** The per-type summary lines, headed by what was audited. */
export function auditReport(policy: Policy, audit: ExclusivityAudit): string {
  const where = audit.policy === 'loaded' ? 'the loaded SELinux policy' : audit.policy;
  return [`exclusivity (${where}):`, ...describeAudit(audit, typeLabeller(policy).name)].join('\n') + '\n';
}
