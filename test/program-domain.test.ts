// A program app's generated domain from its parent's rules (emit/program-domain.ts), on rule sets
// shaped like setools' answers; and the checks on the helper's JSON (selinux/parent-rules.ts):
// nothing but a plain identifier reaches CIL. The same against Debian's refpolicy, linked and
// compared rule by rule, is program-domain-refpolicy.test.ts.

import test from 'ava';
import { cilExpression, programDomainCil, programExecTypeCil, ProgramDomainError } from '../src/emit/program-domain.js';
import { parseParentRulesOutput, ParentRulesError, type CopiedRule, type ParentRules, type PolicyParentRules } from '../src/selinux/parent-rules.js';

const CLASSES: PolicyParentRules['classes'] = {
  file: ['entrypoint', 'execute', 'execute_no_trans', 'getattr', 'map', 'open', 'read', 'write'],
  process: ['dyntransition', 'noatsecure', 'rlimitinh', 'sigchld', 'siginh', 'signal', 'transition'],
  process2: ['nnp_transition', 'nosuid_transition'],
};
const NAMES = { domain: 'secmarkc_fetch_unconfined_t', parent: 'unconfined_t', execType: 'secmarkc_fetch_exec_t' };
const G = NAMES.domain;

function parent(rules: CopiedRule[], extra: Partial<ParentRules> = {}): ParentRules {
  return {
    name: 'unconfined_t',
    exists: true,
    permissive: false,
    roles: ['system_r', 'unconfined_r'],
    attributes: {
      kept: ['domain'],
      excluded: [{ name: 'kern_unconfined', reasons: ['packet'], evidence: [{ kind: 'allow', source: 'kern_unconfined', target: 'unlabeled_t', class: 'packet', permissions: ['send'] }] }],
    },
    rules,
    referenceExecRights: ['entrypoint', 'execute', 'getattr', 'open', 'read'],
    ...extra,
  };
}

const emit = (rules: CopiedRule[], extra: Partial<ParentRules> = {}) => programDomainCil(parent(rules, extra), CLASSES, NAMES);

test('the type, its roles, the attributes it keeps; the excluded ones are named, never joined', (t) => {
  const cil = emit([]);
  t.deepEqual(cil.slice(1, 5), [`(type ${G})`, `(roletype system_r ${G})`, `(roletype unconfined_r ${G})`, `(typeattributeset domain (${G}))`]);
  t.false(cil.some((l) => /typeattributeset kern_unconfined/.test(l)));
  t.true(cil.some((l) => l.startsWith('; Not in kern_unconfined (packet)')));
});

test("the parent's rules on itself become G→G, G→P and P→G; a rule from an excluded attribute becomes G's", (t) => {
  const cil = emit([
    { kind: 'allow', source: 'unconfined_t', target: 'unconfined_t', class: 'process', permissions: ['sigchld', 'signal'] },
    { kind: 'allow', source: 'kern_unconfined', target: 'proc_t', class: 'file', permissions: ['read'] },
    { kind: 'allow', source: 'sshd_t', target: 'kern_unconfined', class: 'process', permissions: ['signal'] },
    { kind: 'dontaudit', source: 'unconfined_t', target: 'shadow_t', class: 'file', permissions: ['write'] },
  ]);
  for (const line of [
    `(allow ${G} ${G} (process (sigchld signal)))`,
    `(allow ${G} unconfined_t (process (sigchld signal)))`,
    `(allow unconfined_t ${G} (process (sigchld signal)))`,
    `(allow ${G} proc_t (file (read)))`,
    `(allow sshd_t ${G} (process (signal)))`,
    `(dontaudit ${G} shadow_t (file (write)))`,
  ]) {
    t.true(cil.includes(line), line);
  }
  t.false(cil.some((l) => /\(allow (kern_unconfined|sshd_t) (proc_t|kern_unconfined)/.test(l)), 'the original rules are not re-emitted');
});

test('no packet rule, no entrypoint but E, nobody but the parent enters G, G does not go back to P nor setcon', (t) => {
  const cil = emit([
    { kind: 'allow', source: 'unconfined_t', target: 'packet_type', class: 'packet', permissions: ['recv', 'send'] },
    { kind: 'allow', source: 'unconfined_t', target: 'shell_exec_t', class: 'file', permissions: ['entrypoint', 'execute'] },
    { kind: 'allow', source: 'unconfined_t', target: 'unconfined_t', class: 'process', permissions: ['dyntransition', 'sigchld', 'transition'] },
    { kind: 'allow', source: 'sshd_t', target: 'unconfined_t', class: 'process', permissions: ['transition'] },
    { kind: 'allow', source: 'init_t', target: 'unconfined_t', class: 'process2', permissions: ['nnp_transition'] },
    { kind: 'allow', source: 'unconfined_t', target: 'sysadm_t', class: 'process', permissions: ['transition'] },
    { kind: 'allow', source: 'unconfined_t', target: 'systemprocess', class: 'process', permissions: ['dyntransition', 'siginh'] },
  ]);
  t.false(cil.some((l) => / \(packet /.test(l)));
  t.true(cil.includes(`(allow ${G} shell_exec_t (file (execute)))`));
  t.deepEqual(cil.filter((l) => l.startsWith('(') && l.includes('entrypoint')), [`(allow ${G} secmarkc_fetch_exec_t (file (entrypoint execute getattr map open read)))`]);
  t.true(cil.includes(`(allow ${G} ${G} (process (sigchld)))`));
  t.true(cil.includes(`(allow ${G} unconfined_t (process (sigchld)))`));
  t.true(cil.includes(`(allow unconfined_t ${G} (process (sigchld)))`));
  t.false(cil.some((l) => /sshd_t|init_t/.test(l)), 'transitions of others into the parent are not copied to G');
  t.true(cil.includes(`(allow ${G} sysadm_t (process (transition)))`), "G may start what P may start");
  t.true(cil.includes(`(allow ${G} systemprocess (process (siginh)))`), 'but not change its domain in place');
  const entering = cil.filter((l) => new RegExp(` ${G} \\(process2? \\(.*(transition)`).test(l) && !l.startsWith('(typetransition'));
  t.deepEqual(entering, [`(allow unconfined_t ${G} (process (transition noatsecure siginh rlimitinh)))`, `(allow unconfined_t ${G} (process2 (nnp_transition nosuid_transition)))`]);
});

test('the entry path: P executes E and enters G; E is to P and G what the reference type is to P', (t) => {
  const cil = emit([]);
  t.deepEqual(cil.slice(-6), [
    `; Entry: unconfined_t executes secmarkc_fetch_exec_t and enters ${G}; secmarkc_fetch_exec_t is what unconfined_t's reference type is to both.`,
    `(typetransition unconfined_t secmarkc_fetch_exec_t process ${G})`,
    `(allow unconfined_t ${G} (process (transition noatsecure siginh rlimitinh)))`,
    `(allow unconfined_t ${G} (process2 (nnp_transition nosuid_transition)))`,
    '(allow unconfined_t secmarkc_fetch_exec_t (file (execute getattr open read)))',
    `(allow ${G} secmarkc_fetch_exec_t (file (entrypoint execute getattr map open read)))`,
  ]);
  // A policy without process2 (before Linux 4.14's nnp_transition) gets no process2 rule.
  const old = programDomainCil(parent([]), { ...CLASSES, process2: [] }, NAMES);
  t.false(old.some((l) => l.includes('process2')));
});

test('conditional rules go into booleanif blocks, per branch, one block per expression', (t) => {
  const cond = (rpn: string[], branch: boolean) => ({ rpn, branch });
  const cil = emit([
    { kind: 'allow', source: 'unconfined_t', target: 'unconfined_t', class: 'process', permissions: ['execmem'], condition: cond(['allow_execmem'], true) },
    { kind: 'allow', source: 'unconfined_t', target: 'cifs_t', class: 'file', permissions: ['read'], condition: cond(['use_samba_home_dirs'], true) },
    { kind: 'dontaudit', source: 'unconfined_t', target: 'cifs_t', class: 'file', permissions: ['read'], condition: cond(['use_samba_home_dirs'], false) },
    { kind: 'allow', source: 'unconfined_t', target: 'cifs_t', class: 'file', permissions: ['write'], condition: cond(['use_samba_home_dirs'], true) },
    { kind: 'allow', source: 'unconfined_t', target: 'nfs_t', class: 'file', permissions: ['read'], condition: cond(['a_b', 'c_d', '!', '&&'], true) },
  ]);
  t.true(cil.includes(`(booleanif use_samba_home_dirs (true (allow ${G} cifs_t (file (read write)))) (false (dontaudit ${G} cifs_t (file (read)))))`));
  t.true(cil.includes(`(booleanif (and a_b (not c_d)) (true (allow ${G} nfs_t (file (read)))))`));
  t.is(cil.filter((l) => l.startsWith('(booleanif allow_execmem')).length, 1);
  t.is(cilExpression(['a', 'b', '||', 'c', '^', 'd', 'e', '==', 'f', '!=', '&&']), '(and (xor (or a b) c) (neq (eq d e) f))');
  t.throws(() => cilExpression(['a', '&&']), { instanceOf: ProgramDomainError });
});

test('type transitions: what P makes as itself G makes as G; an exec that stays in P stays in G', (t) => {
  const cil = emit([
    { kind: 'type_transition', source: 'unconfined_t', target: 'user_home_dir_t', class: 'dir', default: 'user_cert_t', filename: '.pki' },
    { kind: 'type_transition', source: 'unconfined_t', target: 'root_xdrawable_t', class: 'x_drawable', default: 'unconfined_t' },
    { kind: 'type_transition', source: 'unconfined_t', target: 'shell_exec_t', class: 'process', default: 'unconfined_t' },
    { kind: 'type_transition', source: 'unconfined_t', target: 'passwd_exec_t', class: 'process', default: 'passwd_t' },
    { kind: 'type_change', source: 'unconfined_t', target: 'tty_device_t', class: 'chr_file', default: 'user_tty_device_t' },
    { kind: 'type_member', source: 'unconfined_t', target: 'tmp_t', class: 'dir', default: 'user_tmp_t' },
    { kind: 'range_transition', source: 'unconfined_t', target: 'initrc_exec_t', class: 'process', low: { sensitivity: 's0', categories: [] }, high: { sensitivity: 's0', categories: [['c0', 'c1023'], ['c5000', 'c5000']] } },
  ]);
  for (const line of [
    `(typetransition ${G} user_home_dir_t dir ".pki" user_cert_t)`,
    `(typetransition ${G} root_xdrawable_t x_drawable ${G})`,
    `(typetransition ${G} passwd_exec_t process passwd_t)`,
    `(typechange ${G} tty_device_t chr_file user_tty_device_t)`,
    `(typemember ${G} tmp_t dir user_tmp_t)`,
    `(rangetransition ${G} initrc_exec_t process ((s0) (s0 ((range c0 c1023) c5000))))`,
  ]) {
    t.true(cil.includes(line), line);
  }
  t.false(cil.some((l) => l.includes('shell_exec_t')));
  t.throws(
    () => emit([
      { kind: 'type_transition', source: 'unconfined_t', target: 'tmp_t', class: 'file', default: 'a_t' },
      { kind: 'type_transition', source: 'kern_unconfined', target: 'tmp_t', class: 'file', default: 'b_t' },
    ]),
    { instanceOf: ProgramDomainError, message: /conflicting copied rules/ },
  );
});

test('ioctl extended permissions are copied, one allowx per range', (t) => {
  const cil = emit([{ kind: 'allowxperm', source: 'unconfined_t', target: 'tty_device_t', class: 'chr_file', xpermKind: 'ioctl', ranges: [[0x5401, 0x5401], [0x8900, 0x8905]] }]);
  t.true(cil.includes(`(allowx ${G} tty_device_t (ioctl chr_file (0x5401)))\n(allowx ${G} tty_device_t (ioctl chr_file ((range 0x8900 0x8905))))`));
});

test('identical copies are one statement with their permissions merged', (t) => {
  const cil = emit([
    { kind: 'allow', source: 'unconfined_t', target: 'etc_t', class: 'file', permissions: ['read'] },
    { kind: 'allow', source: 'kern_unconfined', target: 'etc_t', class: 'file', permissions: ['getattr', 'read'] },
  ]);
  t.deepEqual(cil.filter((l) => l.includes(' etc_t ')), [`(allow ${G} etc_t (file (getattr read)))`]);
});

test('refused: a parent that does not exist, rules of another parent, names that are not types', (t) => {
  t.throws(() => emit([], { exists: false }), { message: /no domain unconfined_t/ });
  t.throws(() => programDomainCil(parent([]), CLASSES, { ...NAMES, parent: 'init_t' }), { message: /rules of unconfined_t given for parent init_t/ });
  t.throws(() => programDomainCil(parent([]), CLASSES, { ...NAMES, domain: 'x) (allow' }), { instanceOf: ProgramDomainError });
  t.throws(() => programDomainCil(parent([]), CLASSES, { ...NAMES, domain: 'unconfined_t' }), { message: /three types/ });
});

test('the exec type joins the reference type attributes', (t) => {
  const ref = { type: 'bin_t', exists: true, attributes: ['exec_type', 'file_type'], unnamed: [] };
  t.deepEqual(programExecTypeCil('secmarkc_fetch_exec_t', ref).slice(1), [
    '(type secmarkc_fetch_exec_t)',
    '(roletype object_r secmarkc_fetch_exec_t)',
    '(typeattributeset exec_type (secmarkc_fetch_exec_t))',
    '(typeattributeset file_type (secmarkc_fetch_exec_t))',
  ]);
  t.throws(() => programExecTypeCil('secmarkc_fetch_exec_t', { ...ref, exists: false }), { message: /no type bin_t/ });
});

// ---------------------------------------------------------------- the helper's JSON

function answer(rule: Record<string, unknown>, over: Record<string, unknown> = {}): string {
  return JSON.stringify({
    parents: {
      unconfined_t: {
        name: 'unconfined_t',
        exists: true,
        permissive: false,
        roles: ['unconfined_r'],
        attributes: { kept: ['domain'], excluded: [{ name: 'kern_unconfined', reasons: ['packet'], evidence: [{ kind: 'allow', source: 'kern_unconfined', target: 'unlabeled_t', class: 'packet', permissions: ['send'] }] }] },
        rules: [rule],
        referenceExecRights: ['execute'],
      },
    },
    referenceExec: { type: 'bin_t', exists: true, attributes: ['exec_type'], unnamed: [] },
    classes: { file: ['read'], process: ['transition'], process2: [] },
    ...over,
  });
}

const RULE = { kind: 'allow', source: 'unconfined_t', target: 'etc_t', class: 'file', permissions: ['read'] };

test('the JSON of a well-formed answer is taken as it is', (t) => {
  const r = parseParentRulesOutput(answer({ ...RULE, condition: { rpn: ['a', '!'], branch: false } }), ['unconfined_t']);
  t.deepEqual(r.parents.unconfined_t!.rules, [{ ...RULE, condition: { rpn: ['a', '!'], branch: false } }]);
  t.deepEqual(r.parents.unconfined_t!.attributes.excluded[0]!.reasons, ['packet']);
  const named = parseParentRulesOutput(answer({ kind: 'type_transition', source: 'unconfined_t', target: 'home_t', class: 'dir', default: 'x_t', filename: '.config-2+x_y' }), ['unconfined_t']);
  t.is((named.parents.unconfined_t!.rules[0] as { filename?: string }).filename, '.config-2+x_y');
});

test('anything but a plain identifier from setools is an error, never pasted', (t) => {
  const bad: Record<string, unknown>[] = [
    { ...RULE, target: 'etc_t)) (allow x y (file (write' },
    { ...RULE, target: 'a.b' },
    { ...RULE, target: 'self' },
    { ...RULE, target: 'and' },
    { ...RULE, class: '' },
    { ...RULE, permissions: ['read', 'wri te'] },
    { ...RULE, permissions: [] },
    { ...RULE, kind: 'neverallow' },
    { ...RULE, condition: { rpn: ['a', '&&'], branch: true } },
    { ...RULE, condition: { rpn: ['a', 'b'], branch: true } },
    { ...RULE, condition: { rpn: ['a(b'], branch: true } },
    { ...RULE, condition: { rpn: ['a'], branch: 'yes' } },
    { kind: 'type_transition', source: 'unconfined_t', target: 'home_t', class: 'dir', default: 'x_t', filename: 'a"b' },
    { kind: 'type_transition', source: 'unconfined_t', target: 'home_t', class: 'dir', default: 'x_t', filename: 'a b' },
    { kind: 'type_transition', source: 'unconfined_t', target: 'home_t', class: 'dir', default: 'x_t', filename: '' },
    { kind: 'allowxperm', source: 'unconfined_t', target: 'home_t', class: 'dir', xpermKind: 'nlmsg', ranges: [[1, 2]] },
    { kind: 'allowxperm', source: 'unconfined_t', target: 'home_t', class: 'dir', xpermKind: 'ioctl', ranges: [[3, 2]] },
    { kind: 'range_transition', source: 'unconfined_t', target: 'x_t', class: 'process', low: { sensitivity: 's0', categories: [['c0', 'c1;']] }, high: { sensitivity: 's0', categories: [] } },
  ];
  for (const rule of bad) t.throws(() => parseParentRulesOutput(answer(rule), ['unconfined_t']), { instanceOf: ParentRulesError }, JSON.stringify(rule));
  t.throws(() => parseParentRulesOutput(answer(RULE, { referenceExec: { type: 'bin_t', exists: true, attributes: ['exec type'], unnamed: [] } }), ['unconfined_t']), { instanceOf: ParentRulesError });
  t.throws(() => parseParentRulesOutput(answer(RULE), ['init_t']), { message: /no answer for "init_t"/ });
  t.throws(() => parseParentRulesOutput('Traceback', ['init_t']), { message: /printed no JSON/ });
});
