// Who may use a packet type: every allow rule of a binary SELinux policy (the loaded one, or a
// file as `sesearch POLICY` takes) that grants send or recv on it, directly or through an
// attribute, with the rule's source expanded to domains and its boolean condition evaluated.
// One child process through setools' Python library: one policy load answers every type
// (each seinfo/sesearch run reloads the policy, the slow part: bench/RESULTS.md, "Measurements behind the code").

import { readFileSync } from 'node:fs';
import { findTool, runToolWithInput } from './tools.js';

export interface PacketRuleUse {
  /** The rule as sesearch prints it: `allow user_t client_packet_type:packet { recv send };`. */
  readonly rule: string;
  /** The rule's source: a domain, or an attribute (then `domains` lists its members). */
  readonly source: string;
  readonly sourceIsAttribute: boolean;
  /** The rule's target: the type itself, or an attribute holding it. */
  readonly target: string;
  readonly domains: readonly string[];
  /** send and/or recv (other packet permissions are not about using the label). */
  readonly permissions: readonly ('send' | 'recv')[];
  /** For a rule inside a boolean conditional: its expression, and whether the rule is in force now. */
  readonly condition?: { readonly expression: string; readonly booleans: Readonly<Record<string, boolean>>; readonly active: boolean };
}

export interface TypeUsers {
  /** False when the policy has no such type (the module is not installed there). */
  readonly exists: boolean;
  readonly rules: readonly PacketRuleUse[];
}

export interface PacketUsers {
  /** The policy file read, or `loaded` for the running kernel's policy. */
  readonly policy: string;
  readonly types: Readonly<Record<string, TypeUsers>>;
  /** Domains marked permissive in the policy: SELinux logs their denials but enforces none. */
  readonly permissive: readonly string[];
  /** The running kernel's mode (only for the loaded policy): false = permissive, nothing enforced. */
  readonly enforcing?: boolean;
}

export class PacketUsersError extends SecmarkcError {
  constructor(message: string) {
    super('SMC111', message);
  }
}

export const LOADED_POLICY = '/sys/fs/selinux/policy';
const ENFORCE = '/sys/fs/selinux/enforce';

// Reads type names on stdin (one per line), prints one JSON document. setools 4.x API.
const QUERY = String.raw`
import json, sys
import setools
from setools.exception import RuleNotConditional
path = sys.argv[1]
policy = setools.SELinuxPolicy(None if path == "loaded" else path)
wanted = [l.strip() for l in sys.stdin if l.strip()]
out = {"types": {}, "permissive": sorted(str(t) for t in policy.types() if t.ispermissive)}
for name in wanted:
    try:
        target = policy.lookup_type(name)
    except Exception:
        out["types"][name] = {"exists": False, "rules": []}
        continue
    rules = []
    query = setools.TERuleQuery(policy, ruletype=[setools.TERuletype.allow], tclass=["packet"],
                                perms=["send", "recv"], target=target, target_indirect=True)
    for rule in query.results():
        perms = sorted(p for p in rule.perms if p in ("send", "recv"))
        if not perms:
            continue
        source = rule.source
        is_attr = isinstance(source, setools.policyrep.TypeAttribute)
        entry = {"rule": str(rule), "source": str(source), "sourceIsAttribute": is_attr,
                 "target": str(rule.target), "permissions": perms,
                 "domains": sorted(str(t) for t in source.expand()) if is_attr else [str(source)]}
        try:
            cond = rule.conditional
            states = {str(b): bool(b.state) for b in cond.booleans}
            entry["condition"] = {"expression": str(cond), "booleans": states,
                                  "active": bool(cond.evaluate(**states)) == bool(rule.conditional_block)}
        except RuleNotConditional:
            pass
        rules.append(entry)
    out["types"][name] = {"exists": True, "rules": rules}
json.dump(out, sys.stdout)
`;
import { SecmarkcError } from '../errors.js';

/**
 * The interpreter that runs setools: the one named by sesearch's `#!` line (Debian's setools,
 * Fedora's setools-console), so a different python3 first on PATH does not matter.
 */
export function setoolsPython(): string {
  const sesearch = findTool('sesearch');
  const first = readFileSync(sesearch, 'latin1').split('\n', 1)[0] ?? '';
  const m = /^#!\s*(\S+)(?:\s+(\S+))?/.exec(first);
  if (!m) throw new PacketUsersError(`${sesearch} is not a Python script; cannot find the Python that has setools`);
  // `#!/usr/bin/env python3` names the interpreter second.
  return m[1]!.endsWith('/env') && m[2] ? findTool(m[2]) : m[1]!;
}

/** Ask the policy (a file, or `undefined` for the loaded one) who may use each of `types`. */
export function packetUsers(types: readonly string[], policyFile?: string): PacketUsers {
  const python = setoolsPython();
  const r = runToolWithInput(python, ['-c', QUERY, policyFile ?? 'loaded'], types.join('\n') + '\n');
  if (r.status !== 0) {
    const tail = r.stderr.trim().split('\n').slice(-3).join(' | ');
    throw new PacketUsersError(`reading ${policyFile ?? 'the loaded SELinux policy'} with setools failed (exit ${r.status}): ${tail}`);
  }
  const parsed = parseQueryOutput(r.stdout);
  return policyFile === undefined ? withEnforcing(parsed) : { policy: policyFile, ...parsed };
}

/** The answer for the loaded policy, with the kernel's mode now. */
export function withEnforcing(found: Pick<PacketUsers, 'types' | 'permissive'>): PacketUsers {
  const enforcing = readEnforce();
  return { policy: 'loaded', ...found, ...(enforcing === undefined ? {} : { enforcing }) };
}

function readEnforce(): boolean | undefined {
  try {
    return readFileSync(ENFORCE, 'utf8').trim() === '1';
  } catch {
    return undefined;
  }
}

const NAME = /^[A-Za-z][A-Za-z0-9_.-]*$/;

/** The helper's JSON, checked field by field: nothing unchecked reaches a diagnostic. */
export function parseQueryOutput(text: string): Pick<PacketUsers, 'types' | 'permissive'> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new PacketUsersError(`setools query printed no JSON: "${text.slice(0, 200)}"`);
  }
  const bad = (what: string): never => {
    throw new PacketUsersError(`setools query output: ${what}`);
  };
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const names = (v: unknown, what: string): string[] => {
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' && NAME.test(x))) return bad(`${what} is not a list of names`);
    return v as string[];
  };
  if (!isObject(data) || !isObject(data.types)) return bad('no "types"');
  const types: Record<string, TypeUsers> = {};
  for (const [type, value] of Object.entries(data.types)) {
    if (!NAME.test(type) || !isObject(value) || typeof value.exists !== 'boolean' || !Array.isArray(value.rules)) return bad(`type ${type}`);
    const rules = value.rules.map((r): PacketRuleUse => {
      if (!isObject(r) || typeof r.rule !== 'string' || typeof r.source !== 'string' || typeof r.target !== 'string' || typeof r.sourceIsAttribute !== 'boolean') {
        return bad(`a rule of ${type}`);
      }
      const permissions = names(r.permissions, 'permissions');
      if (!permissions.every((p) => p === 'send' || p === 'recv')) return bad(`permissions of ${r.rule}`);
      let condition: PacketRuleUse['condition'];
      if (r.condition !== undefined) {
        const c = r.condition;
        if (!isObject(c) || typeof c.expression !== 'string' || typeof c.active !== 'boolean' || !isObject(c.booleans)) return bad(`condition of ${r.rule}`);
        const booleans: Record<string, boolean> = {};
        for (const [b, state] of Object.entries(c.booleans)) {
          if (!NAME.test(b) || typeof state !== 'boolean') return bad(`boolean ${b}`);
          booleans[b] = state;
        }
        condition = { expression: c.expression, booleans, active: c.active };
      }
      return {
        rule: r.rule,
        source: names([r.source], 'source')[0]!,
        sourceIsAttribute: r.sourceIsAttribute,
        target: names([r.target], 'target')[0]!,
        domains: names(r.domains, 'domains'),
        permissions: permissions as ('send' | 'recv')[],
        ...(condition ? { condition } : {}),
      };
    });
    types[type] = { exists: value.exists, rules };
  }
  return { types, permissive: names(data.permissive, 'permissive') };
}
