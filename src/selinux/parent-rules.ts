// What a parent domain may do, read from a binary SELinux policy, so that a generated program
// domain can be given exactly that minus every packet permission (emit/program-domain.ts).
// One child process through setools' Python library answers every parent: one policy load.
// Every identifier that comes back is checked against a strict pattern before it can reach CIL.

import { runToolWithInput } from './tools.js';
import { setoolsPython } from './packet-users.js';

/** Why an attribute of the parent cannot be given to the generated domain. */
export type ExclusionReason =
  /** The attribute is the source of an `allow ... :packet` rule: its members use packet labels. */
  | 'packet'
  /** The attribute is the source of an `allow ... :file entrypoint` rule: its members may be entered by other files. */
  | 'entrypoint'
  /** A name the CIL compiler made up for an anonymous type set (`base_typeattr_N`): a module cannot name it. */
  | 'generated';

export interface ExcludedAttribute {
  readonly name: string;
  readonly reasons: readonly ExclusionReason[];
  /** One rule per reason that shows it (`generated` has none). */
  readonly evidence: readonly AvRule[];
}

/**
 * A boolean condition: setools' expression in reverse Polish notation (boolean names, and the
 * operators `!`, `&&`, `||`, `^`, `==`, `!=`), and the branch of the conditional the rule is in.
 */
export interface Condition {
  readonly rpn: readonly string[];
  readonly branch: boolean;
}

interface RuleBase {
  /** A type or attribute, as in the policy (attributes the CIL compiler generated are expanded to their types). */
  readonly source: string;
  readonly target: string;
  readonly class: string;
  readonly condition?: Condition;
}

export interface AvRule extends RuleBase {
  readonly kind: 'allow' | 'auditallow' | 'dontaudit';
  readonly permissions: readonly string[];
}

export interface XpermRule extends RuleBase {
  readonly kind: 'allowxperm' | 'auditallowxperm' | 'dontauditxperm';
  readonly xpermKind: 'ioctl';
  /** Inclusive ranges of ioctl command numbers. */
  readonly ranges: readonly (readonly [number, number])[];
}

export interface TypeRule extends RuleBase {
  readonly kind: 'type_transition' | 'type_change' | 'type_member';
  readonly default: string;
  /** For a name transition (`type_transition S T:C "name" D`). */
  readonly filename?: string;
}

export interface Level {
  readonly sensitivity: string;
  /** Runs of consecutive categories, first and last (the same for a single one). */
  readonly categories: readonly (readonly [string, string])[];
}

export interface RangeRule extends Omit<RuleBase, 'condition'> {
  readonly kind: 'range_transition';
  readonly low: Level;
  readonly high: Level;
}

export type CopiedRule = AvRule | XpermRule | TypeRule | RangeRule;

export interface ParentRules {
  readonly name: string;
  /** False when the policy has no type of that name: everything else is empty then. */
  readonly exists: boolean;
  readonly permissive: boolean;
  /** Roles that hold the parent (object_r left out). */
  readonly roles: readonly string[];
  readonly attributes: { readonly kept: readonly string[]; readonly excluded: readonly ExcludedAttribute[] };
  /**
   * Every rule whose source or target is the parent or one of its excluded attributes (for
   * range_transition: the source): (a) direct rules from the parent, (b) rules from an excluded
   * attribute, (c) rules on the parent or an excluded attribute, (d) type and range transitions,
   * name transitions included. Rules that mention one of our own types are left out.
   */
  readonly rules: readonly CopiedRule[];
  /**
   * The parent's file permissions on the reference exec type that rules name it for directly
   * (source the parent or any of its attributes, unconditional): an attribute of the reference
   * type carries the rest to the program's exec type.
   */
  readonly referenceExecRights: readonly string[];
}

export interface PolicyParentRules {
  /** The policy file read, or `loaded`. */
  readonly policy: string;
  readonly parents: Readonly<Record<string, ParentRules>>;
  /** The type a program's exec type copies its attributes from (bin_t). */
  readonly referenceExec: {
    readonly type: string;
    readonly exists: boolean;
    readonly attributes: readonly string[];
    /** Attributes a module cannot name (see ExclusionReason `generated`): the exec type cannot join them. */
    readonly unnamed: readonly string[];
  };
  /** The permissions of the classes the entry path uses (`file`, `process`, `process2`), common ones included; absent class: none. */
  readonly classes: Readonly<Record<'file' | 'process' | 'process2', readonly string[]>>;
}

export interface ParentRulesOptions {
  /** Our own types' prefix (`secmarkc_`): every rule that mentions such a type is ignored, so a previous module's rules are not copied back. */
  readonly ownTypePrefix: string;
  /** The type a program's exec type resembles (default `bin_t`). */
  readonly referenceExecType?: string;
  /**
   * Rules our module adds that mention none of our types (the `unlabeled: allow` grant on
   * `domain`): ignored like those that do, so they do not make `domain` a packet attribute.
   */
  readonly ownRules?: readonly { readonly source: string; readonly target: string; readonly class: string }[];
}

export class ParentRulesError extends SecmarkcError {
  constructor(message: string) {
    super('SMC113', message);
  }
}

/** `policy` of readParentRules for the running kernel's policy (/sys/fs/selinux/policy). */
export const LOADED = 'loaded';

// Reads a JSON request on stdin, prints one JSON document. setools 4.x API.
const QUERY = String.raw`
import json, re, sys
import setools
from setools.exception import RuleNotConditional

req = json.load(sys.stdin)
path = req["policy"]
policy = setools.SELinuxPolicy(None if path == "loaded" else path)
prefix = req["ownTypePrefix"]
own = {(r["source"], r["target"], r["class"]) for r in req["ownRules"]}
GENERATED = re.compile(r"_typeattr_[0-9]+$")
Attr = setools.policyrep.TypeAttribute

members_of = {}
def side(x):
    n = str(x)
    if isinstance(x, Attr) and GENERATED.search(n):
        if n not in members_of:
            members_of[n] = sorted(str(t) for t in x.expand())
        return members_of[n]
    return [n]

def ours(names):
    return any(n.startswith(prefix) for n in names)

def condition(rule):
    try:
        c = rule.conditional
    except RuleNotConditional:
        return None
    return {"rpn": [str(tok) for tok in c.expression()], "branch": bool(rule.conditional_block)}

def runs(values):
    out = []
    for v in sorted(values):
        if out and out[-1][1] + 1 == v:
            out[-1][1] = v
        else:
            out.append([v, v])
    return out

def level(l):
    cats = sorted(l.categories(), key=lambda c: c._value)
    by_value = {c._value: str(c) for c in cats}
    return {"sensitivity": str(l.sensitivity),
            "categories": [[by_value[a], by_value[b]] for a, b in runs(by_value)]}

def describe(rule, s, t):
    kind = str(rule.ruletype)
    d = {"kind": kind, "source": s, "target": t, "class": str(rule.tclass)}
    if kind in ("allow", "auditallow", "dontaudit"):
        d["permissions"] = sorted(str(p) for p in rule.perms)
    elif kind.endswith("xperm"):
        d["xpermKind"] = str(rule.xperm_type)
        d["ranges"] = runs(int(v) for v in rule.perms)
    else:
        d["default"] = str(rule.default)
        fn = getattr(rule, "filename", None)
        if fn is not None:
            d["filename"] = str(fn)
    cond = condition(rule)
    if cond is not None:
        d["condition"] = cond
    return d

# Pass 1: the attributes that are the source of an allow rule on packets, or of an entrypoint.
ALLOW = setools.TERuletype.allow
evidence = {}
for rule in policy.terules():
    if rule.ruletype != ALLOW or not isinstance(rule.source, Attr):
        continue
    s, t, c = str(rule.source), str(rule.target), str(rule.tclass)
    if (s, t, c) in own or ours([s, t]):
        continue
    if c == "packet":
        reason = "packet"
    elif "entrypoint" in rule.perms:
        reason = "entrypoint"
    else:
        continue
    evidence.setdefault((s, reason), describe(rule, s, t))

parents = {}
interest = {}
for name in req["parents"]:
    try:
        ptype = policy.lookup_type(name)
    except Exception:
        parents[name] = {"name": name, "exists": False, "permissive": False, "roles": [],
                         "attributes": {"kept": [], "excluded": []}, "rules": [], "referenceExecRights": []}
        continue
    if str(ptype) != name:
        print(json.dumps({"alias": name, "of": str(ptype)}))
        sys.exit(3)
    kept, excluded = [], []
    for attr in sorted(ptype.attributes(), key=str):
        a = str(attr)
        reasons = [r for r in ("packet", "entrypoint") if (a, r) in evidence]
        if GENERATED.search(a):
            reasons.append("generated")
        if reasons:
            excluded.append({"name": a, "reasons": reasons,
                             "evidence": [evidence[(a, r)] for r in reasons if (a, r) in evidence]})
        else:
            kept.append(a)
    roles = sorted(str(r) for r in policy.roles() if str(r) != "object_r" and any(str(t) == name for t in r.types()))
    parents[name] = {"name": name, "exists": True, "permissive": bool(ptype.ispermissive), "roles": roles,
                     "attributes": {"kept": kept, "excluded": excluded}, "rules": [], "referenceExecRights": []}
    for n in [name] + [x["name"] for x in excluded]:
        interest.setdefault(n, []).append(name)
    parents[name]["_attrs"] = {str(a) for a in ptype.attributes()}

# Pass 2: every rule that has the parent or an excluded attribute on either side.
ref_name = req["referenceExecType"]
ref_rights = {n: set() for n in parents}
for rule in policy.terules():
    srcs, tgts = side(rule.source), side(rule.target)
    hit = any(n in interest for n in srcs) or any(n in interest for n in tgts)
    if rule.ruletype == ALLOW and str(rule.target) == ref_name and str(rule.tclass) == "file":
        try:
            rule.conditional
        except RuleNotConditional:
            for pname, p in parents.items():
                if p["exists"] and any(s == pname or s in p["_attrs"] for s in srcs):
                    ref_rights[pname].update(str(x) for x in rule.perms)
    if not hit:
        continue
    extra = [str(rule.default)] if str(rule.ruletype).startswith("type_") else []
    if (str(rule.source), str(rule.target), str(rule.tclass)) in own or ours([str(rule.source), str(rule.target)] + extra):
        continue
    for s in srcs:
        for t in tgts:
            if ours([s, t]):
                continue
            for pname in set(interest.get(s, [])) | set(interest.get(t, [])):
                parents[pname]["rules"].append(describe(rule, s, t))

# Pass 3: range transitions from the parent or an excluded attribute.
for rule in policy.mlsrules():
    if str(rule.ruletype) != "range_transition":
        continue
    srcs = side(rule.source)
    t = str(rule.target)
    for s in srcs:
        if s not in interest or ours([s, t]):
            continue
        for pname in interest[s]:
            parents[pname]["rules"].append({"kind": "range_transition", "source": s, "target": t,
                                            "class": str(rule.tclass), "low": level(rule.default.low),
                                            "high": level(rule.default.high)})

for pname, p in parents.items():
    p.pop("_attrs", None)
    # The policy's own order changes whenever it is rebuilt: sort, so that an answer is reproducible.
    p["rules"].sort(key=lambda d: json.dumps(d, sort_keys=True))
    p["referenceExecRights"] = sorted(ref_rights.get(pname, ()))

try:
    rtype = policy.lookup_type(ref_name)
    rattrs = sorted(str(a) for a in rtype.attributes())
    reference = {"type": ref_name, "exists": True,
                 "attributes": [a for a in rattrs if not GENERATED.search(a)],
                 "unnamed": [a for a in rattrs if GENERATED.search(a)]}
except Exception:
    reference = {"type": ref_name, "exists": False, "attributes": [], "unnamed": []}

classes = {}
for cname in ("file", "process", "process2"):
    try:
        cls = policy.lookup_class(cname)
    except Exception:
        classes[cname] = []
        continue
    perms = {str(p) for p in cls.perms}
    try:
        perms |= {str(p) for p in cls.common.perms}
    except Exception:
        pass
    classes[cname] = sorted(perms)

json.dump({"parents": parents, "referenceExec": reference, "classes": classes}, sys.stdout)
`;
import { SecmarkcError } from '../errors.js';

/**
 * Read each parent domain's rights from `policy` (a binary policy file, or `loaded`): its roles,
 * its attributes split into those a generated domain may share and those it may not (with the
 * rules that show why), and every rule to copy. One Python process for all parents.
 */
export function readParentRules(policy: string, parents: readonly string[], options: ParentRulesOptions): PolicyParentRules {
  for (const p of parents) if (!NAME.test(p)) throw new ParentRulesError(`parent domain ${show(p)} is not a valid SELinux type name`);
  if (!NAME.test(options.ownTypePrefix.replace(/_$/, '')) || options.ownTypePrefix.length < 2) {
    throw new ParentRulesError(`own type prefix ${show(options.ownTypePrefix)} is not a name prefix`);
  }
  const request = {
    policy,
    parents,
    ownTypePrefix: options.ownTypePrefix,
    referenceExecType: options.referenceExecType ?? 'bin_t',
    ownRules: options.ownRules ?? [],
  };
  const r = runToolWithInput(setoolsPython(), ['-c', QUERY], JSON.stringify(request));
  if (r.status === 3) {
    const alias = /^\{"alias": "([A-Za-z0-9_]+)", "of": "([A-Za-z0-9_]+)"\}/.exec(r.stdout);
    if (alias) throw new ParentRulesError(`${alias[1]} is an alias of ${alias[2]}: name the type itself`);
  }
  if (r.status !== 0) {
    const tail = r.stderr.trim().split('\n').slice(-3).join(' | ');
    throw new ParentRulesError(`reading ${policy === LOADED ? 'the loaded SELinux policy' : policy} with setools failed (exit ${r.status}): ${tail}`);
  }
  return { policy, ...parseParentRulesOutput(r.stdout, parents) };
}

/**
 * SELinux identifiers as CIL may take them unquoted: no `.` (CIL's namespace separator), no
 * keyword of CIL's expressions. Anything else from setools is an error, never pasted.
 */
const NAME = /^[A-Za-z][A-Za-z0-9_]{0,254}$/;
const CIL_WORDS = new Set(['all', 'and', 'or', 'xor', 'not', 'eq', 'neq', 'range', 'self', 'true', 'false']);
/** Names in name transitions, which CIL takes quoted (and cannot escape). Every one in Debian's refpolicy fits. */
const FILENAME = /^[A-Za-z0-9._+-]{1,255}$/;
const OPERATORS = new Set(['!', '&&', '||', '^', '==', '!=']);

function show(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}

/** The helper's JSON, checked field by field. Exported for tests. */
export function parseParentRulesOutput(text: string, wanted: readonly string[]): Omit<PolicyParentRules, 'policy'> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new ParentRulesError(`setools query printed no JSON: ${show(text.slice(0, 200))}`);
  }
  const bad = (what: string): never => {
    throw new ParentRulesError(`setools query output: ${what}`);
  };
  const name = (v: unknown, what: string): string =>
    typeof v === 'string' && NAME.test(v) && !CIL_WORDS.has(v) ? v : bad(`${what} ${show(v)} is not a valid identifier`);
  const names = (v: unknown, what: string): string[] => (Array.isArray(v) ? v.map((x) => name(x, what)) : bad(`${what} is not a list`));
  const bool = (v: unknown, what: string): boolean => (typeof v === 'boolean' ? v : bad(`${what} is not a boolean`));

  const condition = (v: unknown): Condition | undefined => {
    if (v === undefined) return undefined;
    if (!isObject(v) || !Array.isArray(v.rpn) || v.rpn.length === 0) return bad(`condition ${show(v)}`);
    const rpn = v.rpn.map((tok) => (typeof tok === 'string' && OPERATORS.has(tok) ? tok : name(tok, 'boolean')));
    if (!checkRpn(rpn)) bad(`condition ${show(rpn.join(' '))} is not a well-formed expression`);
    return { rpn, branch: bool(v.branch, 'condition branch') };
  };
  const level = (v: unknown): Level => {
    if (!isObject(v) || !Array.isArray(v.categories)) return bad(`level ${show(v)}`);
    const categories = v.categories.map((run): readonly [string, string] => {
      if (!Array.isArray(run) || run.length !== 2) return bad(`category run ${show(run)}`);
      return [name(run[0], 'category'), name(run[1], 'category')];
    });
    return { sensitivity: name(v.sensitivity, 'sensitivity'), categories };
  };
  const avRule = (v: unknown): AvRule => {
    const rule = copiedRule(v);
    return rule.kind === 'allow' || rule.kind === 'auditallow' || rule.kind === 'dontaudit' ? rule : bad(`evidence ${show(v)} is not an access rule`);
  };
  const copiedRule = (v: unknown): CopiedRule => {
    if (!isObject(v) || typeof v.kind !== 'string') return bad(`rule ${show(v)}`);
    const base = { source: name(v.source, 'rule source'), target: name(v.target, 'rule target'), class: name(v.class, 'class') };
    const cond = condition(v.condition);
    const withCond = cond ? { condition: cond } : {};
    switch (v.kind) {
      case 'allow':
      case 'auditallow':
      case 'dontaudit': {
        const permissions = names(v.permissions, 'permission');
        if (permissions.length === 0) return bad(`rule ${show(v)} has no permissions`);
        return { kind: v.kind, ...base, permissions, ...withCond };
      }
      case 'allowxperm':
      case 'auditallowxperm':
      case 'dontauditxperm': {
        if (v.xpermKind !== 'ioctl') return bad(`extended permission kind ${show(v.xpermKind)} (only ioctl is understood)`);
        if (!Array.isArray(v.ranges) || v.ranges.length === 0) return bad(`rule ${show(v)} has no ioctl ranges`);
        const ranges = v.ranges.map((x): readonly [number, number] => {
          const ok = Array.isArray(x) && x.length === 2 && x.every((n) => Number.isInteger(n) && n >= 0 && n <= 0xffff) && x[0] <= x[1];
          return ok ? [x[0] as number, x[1] as number] : bad(`ioctl range ${show(x)}`);
        });
        return { kind: v.kind, ...base, xpermKind: 'ioctl', ranges, ...withCond };
      }
      case 'type_transition':
      case 'type_change':
      case 'type_member': {
        let filename: string | undefined;
        if (v.filename !== undefined) {
          if (v.kind !== 'type_transition' || typeof v.filename !== 'string' || !FILENAME.test(v.filename)) return bad(`name in transition ${show(v.filename)}`);
          filename = v.filename;
        }
        return { kind: v.kind, ...base, default: name(v.default, 'default type'), ...(filename === undefined ? {} : { filename }), ...withCond };
      }
      case 'range_transition':
        if (cond) return bad('a conditional range_transition');
        return { kind: 'range_transition', ...base, low: level(v.low), high: level(v.high) };
      default:
        return bad(`rule kind ${show(v.kind)}`);
    }
  };

  if (!isObject(data) || !isObject(data.parents) || !isObject(data.referenceExec) || !isObject(data.classes)) return bad('missing parents, referenceExec or classes');
  const parents: Record<string, ParentRules> = {};
  for (const wantedName of wanted) {
    const p = data.parents[wantedName];
    if (!isObject(p) || p.name !== wantedName || !isObject(p.attributes)) return bad(`no answer for ${show(wantedName)}`);
    const excluded = Array.isArray(p.attributes.excluded)
      ? p.attributes.excluded.map((x): ExcludedAttribute => {
          if (!isObject(x) || !Array.isArray(x.reasons) || !Array.isArray(x.evidence)) return bad(`excluded attribute ${show(x)}`);
          const reasons = x.reasons.map((r) => (r === 'packet' || r === 'entrypoint' || r === 'generated' ? (r as ExclusionReason) : bad(`exclusion reason ${show(r)}`)));
          return { name: name(x.name, 'attribute'), reasons, evidence: x.evidence.map(avRule) };
        })
      : bad('excluded attributes');
    if (!Array.isArray(p.rules)) return bad(`rules of ${wantedName}`);
    parents[wantedName] = {
      name: wantedName,
      exists: bool(p.exists, 'exists'),
      permissive: bool(p.permissive, 'permissive'),
      roles: names(p.roles, 'role'),
      attributes: { kept: names(p.attributes.kept, 'attribute'), excluded },
      rules: p.rules.map(copiedRule),
      referenceExecRights: names(p.referenceExecRights, 'permission'),
    };
  }
  const ref = data.referenceExec;
  const classes = data.classes;
  return {
    parents,
    referenceExec: {
      type: name(ref.type, 'reference exec type'),
      exists: bool(ref.exists, 'reference exists'),
      attributes: names(ref.attributes, 'attribute'),
      // Shown to people only, never emitted; still checked, as a generated name has this shape.
      unnamed: names(ref.unnamed, 'attribute'),
    },
    classes: { file: names(classes.file, 'permission'), process: names(classes.process, 'permission'), process2: names(classes.process2, 'permission') },
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A reverse Polish expression leaves exactly one value: `!` takes one operand, the others two. */
function checkRpn(rpn: readonly string[]): boolean {
  let depth = 0;
  for (const tok of rpn) {
    if (tok === '!') {
      if (depth < 1) return false;
    } else if (OPERATORS.has(tok)) {
      if (depth < 2) return false;
      depth -= 1;
    } else {
      depth += 1;
    }
  }
  return depth === 1;
}
