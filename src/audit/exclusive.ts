// The exclusivity audit: for every packet type our module declares, who else may use it. The
// module's own grants (app domains send+recv, kernel_t send, the neighbour-discovery domains)
// are the whole intended set; any other rule of the audited SELinux policy that grants send or
// recv on the type — directly, through an attribute, or in a boolean conditional — is named with
// the domains it lets in. Pure: the rules come from selinux/packet-users.ts.

import type { CilModule, PacketType } from '../compile/ir.js';
import { DiagnosticSink, type Diagnostic } from '../policy/diagnostics.js';
import type { Span } from '../policy/span.js';
import type { PacketRuleUse, PacketUsers } from '../selinux/packet-users.js';
import { SecmarkcError } from '../errors.js';

/** The audit found a leak: apply throws this (and loads nothing) unless --allow-shared-labels was given. */
export class NotExclusiveError extends SecmarkcError {
  constructor(diagnostics: readonly Diagnostic[]) {
    super('SMC060', `${diagnostics.filter((d) => d.severity === 'error').length} label(s) not exclusive`, diagnostics);
  }
}

export interface Leak {
  readonly type: string;
  readonly rule: string;
  /** The rule's target: the type itself, or an attribute that holds it. */
  readonly target: string;
  /** Domains the rule lets use the type that our module does not grant it to. */
  readonly domains: readonly string[];
  readonly permissions: readonly ('send' | 'recv')[];
  readonly condition?: PacketRuleUse['condition'];
}

export interface TypeAudit {
  readonly type: string;
  /** Who, then, may use the type: domain → permissions (ours and the leaks', current booleans). */
  readonly users: Readonly<Record<string, readonly ('send' | 'recv')[]>>;
  readonly leaks: readonly Leak[];
  /** False when the audited policy lacks the type: the module is not installed there. */
  readonly audited: boolean;
}

export interface ExclusivityAudit {
  readonly policy: string;
  readonly types: readonly TypeAudit[];
  readonly permissive: readonly string[];
  readonly enforcing?: boolean;
  /** Errors (active leaks) and warnings (conditional leaks, permissive domains or mode). */
  readonly diagnostics: readonly Diagnostic[];
}

/** How a type is named in messages (`app "a" connect`), and where it is reported. */
export interface TypeLabel {
  readonly what: string;
  readonly span: Span;
}

/** Domain names listed in one message; the JSON report lists them all. */
const LISTED = 12;

export function auditExclusivity(module: CilModule, users: PacketUsers, label: (type: PacketType) => TypeLabel, tableSpan: Span): ExclusivityAudit {
  const sink = new DiagnosticSink();
  const types: TypeAudit[] = [];
  for (const type of module.types) {
    const found = users.types[type.name];
    if (!found?.exists) {
      types.push({ type: type.name, users: {}, leaks: [], audited: false });
      continue;
    }
    // Our grants by source name: a rule of the audited policy with that source and no more
    // permissions is one of ours (its source may be an attribute the policy names as a domain).
    const ours = new Map<string, Set<string>>();
    for (const grant of module.allows) {
      if (grant.target !== type.name) continue;
      const set = ours.get(grant.source) ?? new Set<string>();
      for (const p of grant.permissions) set.add(p);
      ours.set(grant.source, set);
    }
    const allowed = new Map<string, Set<string>>();
    const grant = (domain: string, perms: readonly string[]): void => {
      const set = allowed.get(domain) ?? new Set<string>();
      for (const p of perms) set.add(p);
      allowed.set(domain, set);
    };
    const isOurs = (rule: PacketRuleUse): boolean => !rule.condition && rule.permissions.every((p) => ours.get(rule.source)?.has(p));
    for (const rule of found.rules) if (isOurs(rule)) for (const d of rule.domains) grant(d, rule.permissions);
    const intended = new Map([...allowed].map(([d, s]) => [d, new Set(s)]));

    const leaks: Leak[] = [];
    for (const rule of found.rules) {
      if (isOurs(rule)) continue;
      const domains = rule.domains.filter((d) => rule.permissions.some((p) => !intended.get(d)?.has(p)));
      if (domains.length === 0) continue;
      leaks.push({ type: type.name, rule: rule.rule, target: rule.target, domains, permissions: rule.permissions, ...(rule.condition ? { condition: rule.condition } : {}) });
      if (!rule.condition || rule.condition.active) for (const d of domains) grant(d, rule.permissions);
    }
    reportLeaks(sink, type, leaks, label(type));
    const usersOut: Record<string, ('send' | 'recv')[]> = {};
    for (const [d, s] of [...allowed].sort(([a], [b]) => a.localeCompare(b))) usersOut[d] = [...s].sort() as ('send' | 'recv')[];
    types.push({ type: type.name, users: usersOut, leaks, audited: true });
  }
  if (users.permissive.length > 0 && module.types.length > 0) {
    sink.warning('SMC062', tableSpan, `permissive domains are not enforced, so they may use every label: ${list(users.permissive)} (semanage permissive -d DOMAIN)`);
  }
  if (users.enforcing === false && module.types.length > 0) {
    sink.warning('SMC063', tableSpan, 'SELinux is in permissive mode: no label is enforced for anyone until it is enforcing (setenforce 1)');
  }
  return {
    policy: users.policy,
    types,
    permissive: users.permissive,
    ...(users.enforcing === undefined ? {} : { enforcing: users.enforcing }),
    diagnostics: sink.sorted(),
  };
}

/**
 * The rules are setools' text, not policy input: written unquoted, so the formatter escapes them
 * but does not cut them as it cuts long quoted values.
 * One diagnostic per rule that names the type itself; rules on an attribute that holds the type
 * are one diagnostic per attribute (refpolicy has ~100 rules on client_packet_type alone: the
 * membership is the thing to fix). Conditional rules that are off now are warnings.
 */
function reportLeaks(sink: DiagnosticSink, type: PacketType, leaks: readonly Leak[], { what, span }: TypeLabel): void {
  const groups = new Map<string, Leak[]>();
  for (const leak of leaks) {
    const active = !leak.condition || leak.condition.active;
    const key = leak.target === type.name ? `rule ${leak.rule}` : `attribute ${leak.target} ${active}`;
    groups.set(key, [...(groups.get(key) ?? []), leak]);
  }
  for (const group of groups.values()) {
    const first = group[0]!;
    const active = !first.condition || first.condition.active;
    const domains = [...new Set(group.flatMap((l) => l.domains))].sort();
    const perms = [...new Set(group.flatMap((l) => l.permissions))].sort().join(' and ');
    const names = list(domains);
    const who = `${domains.length === 1 ? 'a domain' : `${domains.length} domains`} outside the app may ${perms} it: ${names}`;
    const how =
      first.target === type.name
        ? `granted by: ${first.rule}`
        : `it is in attribute ${first.target}${group.length > 1 ? ` (${group.length} rules grant it; the first)` : ''}, granted by: ${first.rule}`;
    if (active) {
      sink.error('SMC060', span, `the label of ${what} (${type.name}) is not exclusive: ${who} — ${how}`);
    } else {
      const booleans = [...new Set(group.flatMap((l) => Object.entries(l.condition!.booleans).map(([b, on]) => `${b}=${on ? 'on' : 'off'}`)))].join(', ');
      sink.warning('SMC061', span, `the label of ${what} (${type.name}) is exclusive only while the booleans stay as they are (${booleans}): otherwise ${who} — ${how}`);
    }
  }
}

function list(names: readonly string[]): string {
  return names.length > LISTED ? `${names.slice(0, LISTED).join(', ')}, … (${names.length} in all)` : names.join(', ');
}

/** One line per type for people: who may use it, or why it was not audited. */
export function describeAudit(audit: ExclusivityAudit, label: (type: string) => string): string[] {
  const where = audit.policy === 'loaded' ? 'the loaded SELinux policy' : audit.policy;
  return audit.types.map((t) => {
    if (!t.audited) return `  ${t.type} (${label(t.type)}): not in ${where} yet; apply installs the module, and audits it then`;
    const users = Object.entries(t.users).map(([d, p]) => `${d} (${p.join(' ')})`).join(', ');
    const state = t.leaks.some((l) => !l.condition || l.condition.active) ? 'NOT exclusive' : 'exclusive';
    return `  ${t.type} (${label(t.type)}): ${state}; may be used by ${users || 'nobody'}`;
  });
}
