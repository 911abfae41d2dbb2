// `secmarkc explain --users-of APP|TYPE`: the reverse of `explain DOMAIN` — every domain that may
// send or recv the app's packet types (or one packet type), with the rules that let it; for our
// own types, whether that is exclusive (the audit of `check`).

import { auditExclusivity } from '../audit/exclusive.js';
import { packetTypeName } from '../compile/names.js';
import { typeProblem } from '../policy/names.js';
import { packetUsers, type PacketRuleUse } from '../selinux/packet-users.js';
import { EXIT } from './exit-codes.js';
import { typeLabeller } from './exclusivity.js';
import { loadPolicy, type PortsFromOption } from './load-policy.js';
import { describeError, failRuntime, printDiagnostics } from './report.js';

interface UsersOptions extends PortsFromOption {
  policy: string;
  selinuxPolicy?: string;
  json?: boolean;
}

interface DomainUse {
  readonly domain: string;
  readonly permissions: readonly string[];
  readonly rules: readonly string[];
}

/** Rules by the domain they let in; a conditional rule that is off now is listed apart. */
function byDomain(rules: readonly PacketRuleUse[], active: boolean): DomainUse[] {
  const out = new Map<string, { permissions: Set<string>; rules: Set<string> }>();
  for (const rule of rules) {
    if ((!rule.condition || rule.condition.active) !== active) continue;
    for (const domain of rule.domains) {
      const entry = out.get(domain) ?? { permissions: new Set<string>(), rules: new Set<string>() };
      for (const p of rule.permissions) entry.permissions.add(p);
      entry.rules.add(rule.rule);
      out.set(domain, entry);
    }
  }
  return [...out]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([domain, e]) => ({ domain, permissions: [...e.permissions].sort(), rules: [...e.rules] }));
}

export function explainUsers(subject: string, options: UsersOptions): void {
  const loaded = loadPolicy(options.policy, options);
  if (!loaded) return;
  const { policy } = loaded;
  const module = loaded.compiled.module;
  const app = policy.apps.find((a) => a.name === subject);
  let types: string[];
  if (app) {
    types = (['connect', 'serve'] as const).filter((d) => app[d].length > 0).map((d) => packetTypeName(policy.table.value, app.name, d === 'connect' ? 'client' : 'server'));
  } else {
    const problem = typeProblem(subject);
    if (problem) {
      process.stderr.write(`secmarkc: --users-of: "${subject}" is no app of ${policy.file}, and as a type name it ${problem}\n`);
      process.exitCode = EXIT.invalid;
      return;
    }
    types = [subject];
  }
  let users;
  try {
    users = packetUsers(types, options.selinuxPolicy);
  } catch (error) {
    failRuntime(describeError(error));
    return;
  }
  const labels = typeLabeller(policy);
  const ours = new Set(module.types.map((t) => t.name));
  const audit = auditExclusivity({ ...module, types: module.types.filter((t) => types.includes(t.name)) }, users, labels.forType, policy.table.span);
  const where = options.selinuxPolicy ?? 'the loaded SELinux policy';
  const report = types.map((type) => {
    const found = users.types[type];
    const typeAudit = audit.types.find((a) => a.type === type);
    return {
      type,
      origin: labels.name(type),
      inPolicy: found?.exists ?? false,
      ours: ours.has(type),
      exclusive: typeAudit ? !typeAudit.leaks.some((l) => !l.condition || l.condition.active) : null,
      users: byDomain(found?.rules ?? [], true),
      ifBooleansChange: byDomain(found?.rules ?? [], false),
    };
  });
  if (options.json) {
    process.stdout.write(JSON.stringify({ policy: where, types: report, permissive: users.permissive }, null, 2) + '\n');
  } else {
    const out: string[] = [];
    for (const r of report) {
      if (!r.inPolicy) {
        out.push(`${r.type} (${r.origin}): not in ${where}${r.ours ? ' (apply installs the module)' : ''}`);
        continue;
      }
      const verdict = r.ours ? (r.exclusive ? 'exclusive' : 'NOT exclusive') : "not one of this policy's types: refpolicy's or another module's, shared by whoever its rules name";
      out.push(`${r.type} (${r.origin}) in ${where}: ${verdict}; may be used by`);
      if (r.users.length === 0) out.push('  nobody');
      const width = Math.min(32, Math.max(0, ...r.users.map((u) => u.domain.length)));
      for (const u of r.users) out.push(`  ${u.domain.padEnd(width)}  ${u.permissions.join(' ').padEnd(9)}  ${u.rules.join(' | ')}`);
      for (const u of r.ifBooleansChange) out.push(`  ${u.domain.padEnd(width)}  ${u.permissions.join(' ').padEnd(9)}  if booleans change: ${u.rules.join(' | ')}`);
    }
    process.stdout.write(out.join('\n') + '\n');
  }
  printDiagnostics(audit.diagnostics);
}
