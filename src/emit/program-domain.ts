// The CIL of a program app's generated domain G: what its parent domain P may do, minus every
// packet permission, and entered only from P on exec of the app's file type E. Pure: the parent's
// rules were read from the policy (selinux/parent-rules.ts) and their identifiers checked there.
// The app's packet grants and file contexts are emitted elsewhere (emit/cil.ts).
//
// The copy, with S = {P} ∪ P's excluded attributes (those that carry packet or entrypoint rules):
// a rule from S gets G as source, a rule on S gets G as target (others act on G as on P), a
// rule from S on S gets both and G→G — so P's own rules on itself become G→G, G→P and P→G,
// each of them one of P's rights once G is read as P. The attributes G keeps carry the rest.

import type { AvRule, CopiedRule, Level, ParentRules, PolicyParentRules, RangeRule, TypeRule, XpermRule } from '../selinux/parent-rules.js';
import { SecmarkcError } from '../errors.js';

export interface ProgramDomainNames {
  /** G: the generated domain. */
  readonly domain: string;
  /** P: the run_from domain whose exec of E enters G. */
  readonly parent: string;
  /** E: the app's executable file type. */
  readonly execType: string;
}

export class ProgramDomainError extends SecmarkcError {
  constructor(message: string) {
    super('SMC113', message);
  }
}

/** Permissions that enter a domain: only the parent gets them on G, through the entry path below. */
const ENTERING: Readonly<Record<string, readonly string[]>> = {
  process: ['transition', 'dyntransition'],
  process2: ['nnp_transition', 'nosuid_transition'],
};

/**
 * P's rights on G at exec, beyond `transition`: the program runs as it would in P. Without
 * `noatsecure` glibc would run it in secure mode (LD_PRELOAD, LD_LIBRARY_PATH, TMPDIR ... dropped);
 * without `siginh` the kernel would reset its signal dispositions and mask (`nohup` would not
 * work) and flush pending signals; without `rlimitinh` it would reset its soft limits to init's
 * (a unit's LimitNOFILE= would be lost). None of them is a right of G, and P already controls
 * its child (G is P minus packets: P's self rights give it ptrace and signals on G).
 */
const ENTRY_PROCESS = ['transition', 'noatsecure', 'siginh', 'rlimitinh'];
/** A transition under no_new_privs (systemd's NoNewPrivileges=) or from a nosuid mount. */
const ENTRY_PROCESS2 = ['nnp_transition', 'nosuid_transition'];
/** What G needs on E to be entered by it and to map it (the kernel maps the executable as G). */
const ENTRYPOINT_FILE = ['entrypoint', 'execute', 'getattr', 'map', 'open', 'read'];

/**
 * The CIL lines of G for one parent: the type, its roles and kept attributes, the copied rules
 * (grouped, conditional ones in `booleanif`), and the entry path from P. No packet rule at all.
 */
export function programDomainCil(parent: ParentRules, classes: PolicyParentRules['classes'], names: ProgramDomainNames): string[] {
  const { domain: G, parent: P, execType: E } = names;
  for (const n of [G, P, E]) if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(n)) throw new ProgramDomainError(`invalid type name ${JSON.stringify(n)}`);
  if (parent.name !== P) throw new ProgramDomainError(`rules of ${parent.name} given for parent ${P}`);
  if (!parent.exists) throw new ProgramDomainError(`the SELinux policy has no domain ${P}`);
  if (new Set([G, P, E]).size !== 3) throw new ProgramDomainError('the domain, its parent and the exec type must be three types');

  const mirrored = new Set([P, ...parent.attributes.excluded.map((a) => a.name)]);
  const groups = new RuleGroups();
  for (const rule of parent.rules) {
    for (const [source, target] of substitutions(rule, mirrored, G)) {
      const line = copiedLine(rule, source, target, { G, P });
      if (line !== undefined) groups.add(rule.kind === 'range_transition' ? undefined : rule.condition, line);
    }
  }

  const out = [
    `; ${G}: what ${P} may do, minus every packet permission; entered only from ${P} on exec of ${E}.`,
    `(type ${G})`,
    ...parent.roles.map((r) => `(roletype ${r} ${G})`),
    ...parent.attributes.kept.map((a) => `(typeattributeset ${a} (${G}))`),
  ];
  if (parent.attributes.excluded.length > 0) {
    out.push(`; Not in ${parent.attributes.excluded.map((a) => `${a.name} (${a.reasons.join(', ')})`).join(', ')}: their rules are copied below, without packets or entrypoints.`);
  }
  out.push(...groups.lines());

  const present = (cls: keyof typeof classes, perms: readonly string[]) => perms.filter((p) => classes[cls].includes(p));
  const execRights = parent.referenceExecRights.filter((p) => p !== 'entrypoint');
  out.push(
    `; Entry: ${P} executes ${E} and enters ${G}; ${E} is what ${P}'s reference type is to both.`,
    `(typetransition ${P} ${E} process ${G})`,
    avLine('allow', P, G, 'process', present('process', ENTRY_PROCESS)),
  );
  const nnp = present('process2', ENTRY_PROCESS2);
  if (nnp.length > 0) out.push(avLine('allow', P, G, 'process2', nnp));
  if (execRights.length > 0) out.push(avLine('allow', P, E, 'file', execRights));
  out.push(avLine('allow', G, E, 'file', [...new Set([...present('file', ENTRYPOINT_FILE), ...execRights])].sort()));
  return out;
}

/** E: a file type like the reference type (bin_t) to everyone, through its attributes. */
export function programExecTypeCil(execType: string, reference: PolicyParentRules['referenceExec']): string[] {
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(execType)) throw new ProgramDomainError(`invalid type name ${JSON.stringify(execType)}`);
  if (!reference.exists) throw new ProgramDomainError(`the SELinux policy has no type ${reference.type}`);
  return [
    `; ${execType}: the programs' file type, in the attributes of ${reference.type}.`,
    `(type ${execType})`,
    `(roletype object_r ${execType})`,
    ...reference.attributes.map((a) => `(typeattributeset ${a} (${execType}))`),
  ];
}

/** The source/target pairs a copied rule becomes (see the top of this file). */
function substitutions(rule: CopiedRule, mirrored: ReadonlySet<string>, G: string): [string, string][] {
  const fromS = mirrored.has(rule.source);
  const onS = rule.kind !== 'range_transition' && mirrored.has(rule.target);
  const pairs: [string, string][] = [];
  if (fromS) pairs.push([G, rule.target]);
  if (onS) pairs.push([rule.source, G]);
  if (fromS && onS) pairs.push([G, G]);
  return pairs;
}

/** A statement to emit: access rules with the same key are one, their permissions merged. */
type Line =
  | { readonly key: string; readonly access: readonly [string, string, string, string]; readonly permissions: readonly string[] }
  | { readonly key: string; readonly text: string };

/** One copied rule with its new source and target, or undefined when nothing of it may be copied. */
function copiedLine(rule: CopiedRule, source: string, target: string, t: { G: string; P: string }): Line | undefined {
  if (rule.class === 'packet') return undefined;
  switch (rule.kind) {
    case 'allow':
    case 'auditallow':
    case 'dontaudit':
      return avCopy(rule, source, target, t);
    case 'allowxperm':
    case 'auditallowxperm':
    case 'dontauditxperm':
      return xpermCopy(rule, source, target);
    case 'type_transition':
    case 'type_change':
    case 'type_member':
      return typeCopy(rule, source, target, t);
    case 'range_transition':
      return rangeCopy(rule, source);
  }
}

function avCopy(rule: AvRule, source: string, target: string, { G, P }: { G: string; P: string }): Line | undefined {
  const dropped = new Set<string>();
  // G is entered through E only.
  if (source === G) dropped.add('entrypoint');
  // Only the parents enter G (the entry path), and G does not go back to P: there it would have
  // P's packet rights, which are what the app is filtered from. Nor does G change its domain in
  // place (setcon: init_t may dyntransition to every `systemprocess`, unconfined_t among them);
  // it runs other programs' domains on exec, as P does.
  if (target === G || (source === G && target === P)) for (const p of ENTERING[rule.class] ?? []) dropped.add(p);
  if (source === G && rule.class === 'process') dropped.add('dyntransition');
  const permissions = rule.permissions.filter((p) => !dropped.has(p));
  if (permissions.length === 0) return undefined;
  return { key: `${rule.kind} ${source} ${target} ${rule.class}`, access: [rule.kind, source, target, rule.class], permissions };
}

function xpermCopy(rule: XpermRule, source: string, target: string): Line {
  const kind = { allowxperm: 'allowx', auditallowxperm: 'auditallowx', dontauditxperm: 'dontauditx' }[rule.kind];
  const ranges = rule.ranges.map(([lo, hi]) => (lo === hi ? hex(lo) : `(range ${hex(lo)} ${hex(hi)})`));
  // One statement per range: the kernel takes the union of a (source, target, class)'s rules.
  const text = ranges.map((r) => `(${kind} ${source} ${target} (ioctl ${rule.class} (${r})))`).join('\n');
  return { key: text, text };
}

function typeCopy(rule: TypeRule, source: string, target: string, { G, P }: { G: string; P: string }): Line | undefined {
  let def = rule.default;
  if (def === P) {
    // What P makes as itself, G makes as G — except a process: P's exec that stays in P is G's
    // exec that stays in G (no transition at all, as under P).
    if (rule.class === 'process' && source === G) return undefined;
    def = G;
  }
  const kind = { type_transition: 'typetransition', type_change: 'typechange', type_member: 'typemember' }[rule.kind];
  const name = rule.filename === undefined ? '' : ` "${rule.filename}"`;
  const key = `${kind} ${source} ${target} ${rule.class}${name}`;
  return { key, text: `(${kind} ${source} ${target} ${rule.class}${name} ${def})` };
}

function rangeCopy(rule: RangeRule, source: string): Line {
  const key = `rangetransition ${source} ${rule.target} ${rule.class}`;
  return { key, text: `(${key} (${level(rule.low)} ${level(rule.high)}))` };
}

function level(l: Level): string {
  if (l.categories.length === 0) return `(${l.sensitivity})`;
  const cats = l.categories.map(([a, b]) => (a === b ? a : `(range ${a} ${b})`));
  return `(${l.sensitivity} (${cats.join(' ')}))`;
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

function avLine(kind: string, source: string, target: string, cls: string, permissions: readonly string[]): string {
  return `(${kind} ${source} ${target} (${cls} (${permissions.join(' ')})))`;
}

/** Copied rules grouped by condition, then by statement key, permissions merged; output sorted. */
class RuleGroups {
  private readonly plain = new Map<string, Line>();
  private readonly conditional = new Map<string, { true: Map<string, Line>; false: Map<string, Line> }>();

  add(condition: { rpn: readonly string[]; branch: boolean } | undefined, line: Line): void {
    if (condition === undefined) return merge(this.plain, line);
    const expr = cilExpression(condition.rpn);
    let block = this.conditional.get(expr);
    if (!block) this.conditional.set(expr, (block = { true: new Map(), false: new Map() }));
    merge(condition.branch ? block.true : block.false, line);
  }

  lines(): string[] {
    const out = render(this.plain);
    for (const expr of [...this.conditional.keys()].sort()) {
      const block = this.conditional.get(expr)!;
      const branches = (['true', 'false'] as const).filter((b) => block[b].size > 0).map((b) => `(${b} ${render(block[b]).join(' ')})`);
      out.push(`(booleanif ${expr} ${branches.join(' ')})`);
    }
    return out;
  }
}

function merge(into: Map<string, Line>, line: Line): void {
  const seen = into.get(line.key);
  if (!seen) {
    into.set(line.key, line);
    return;
  }
  if ('access' in line && 'access' in seen) {
    into.set(line.key, { ...seen, permissions: [...new Set([...seen.permissions, ...line.permissions])] });
  } else if (!('text' in line && 'text' in seen && line.text === seen.text)) {
    throw new ProgramDomainError(`conflicting copied rules: ${text(seen)} and ${text(line)}`);
  }
}

function text(line: Line): string {
  if ('text' in line) return line.text;
  const [kind, source, target, cls] = line.access;
  return avLine(kind, source, target, cls, [...line.permissions].sort());
}

function render(lines: Map<string, Line>): string[] {
  return [...lines.values()].map(text).sort();
}

const CIL_OPERATORS: Readonly<Record<string, [string, number]>> = {
  '!': ['not', 1],
  '&&': ['and', 2],
  '||': ['or', 2],
  '^': ['xor', 2],
  '==': ['eq', 2],
  '!=': ['neq', 2],
};

/** setools' reverse Polish expression as a CIL boolean expression: `(and a (not b))`, or a bare name. */
export function cilExpression(rpn: readonly string[]): string {
  const stack: string[] = [];
  for (const tok of rpn) {
    const op = CIL_OPERATORS[tok];
    if (!op) {
      stack.push(tok);
      continue;
    }
    if (stack.length < op[1]) throw new ProgramDomainError(`malformed condition ${rpn.join(' ')}`);
    const args = stack.splice(stack.length - op[1], op[1]);
    stack.push(`(${op[0]} ${args.join(' ')})`);
  }
  if (stack.length !== 1) throw new ProgramDomainError(`malformed condition ${rpn.join(' ')}`);
  return stack[0]!;
}
