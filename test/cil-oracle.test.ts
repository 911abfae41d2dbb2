// An oracle for the CIL goldens that is not the code under test (issue 17). Each valid
// fixture's module, as the compiler emits it, is linked into its own copy of Debian's refpolicy
// store (semodule -p, refpolicy's neverallow rules checked): libsepol decides whether it is
// valid. setools then reads what the link changed in the binary policy against the same store
// built without it (test/helpers/cil-effect.py), and the store's file contexts and users are
// compared line by line. That effect must be exactly what the fixture's policy.yaml says
// (test/helpers/cil-oracle.ts, written from the YAML and the README, not from src/emit): the
// packet types in no attribute, their grants, the loaders' relabelto, the unlabeled rules, and
// nothing else anywhere. Mutated modules show that the oracle can fail. Needs root,
// selinux-policy-default, semodule and setools (test/helpers/refpolicy.ts); each link relinks
// all of refpolicy (~6 s of CPU), so they run two at a time.

import test from 'ava';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compilePolicy } from '../src/compile/compile.js';
import { emitCil } from '../src/emit/cil.js';
import { formatDiagnostic } from '../src/policy/diagnostics.js';
import { setoolsPython } from '../src/selinux/packet-users.js';
import { expectCil, expectFixture, judgeCil, type CilEffect, type CilExpectation, type RuleTuple } from './helpers/cil-oracle.js';
import { cases, readPolicy, readPortTable } from './helpers/fixtures.js';
import { binaryPolicy, policyRoot, refpolicyMissing, refpolicySkipReason, refpolicyTest, refpolicyTitle, SEMODULE, semoduleInstall, spawnAsync, STORE } from './helpers/refpolicy.js';

const EFFECT = fileURLToPath(new URL('./helpers/cil-effect.py', import.meta.url));
const JOBS = Math.max(1, Math.min(2, availableParallelism()));
/** The module that declares what a fixture names and Debian's refpolicy lacks (steam_t, a custom loader). */
const STUB_MODULE = 'secmarkc_oracle_stub';

/** At most `n` of the returned function's jobs at a time, in call order. */
function limiter(n: number): <T>(job: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (job) => {
    if (active >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await job();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

async function setools<T>(request: object): Promise<T> {
  const r = await spawnAsync(setoolsPython(), [EFFECT], JSON.stringify(request));
  if (r.status !== 0) throw new Error(`cil-effect.py failed (exit ${r.status}): ${r.stderr.slice(-2000)}`);
  return JSON.parse(r.stdout) as T;
}

interface Linked {
  status: number | null;
  output: string;
  linkSeconds: number;
  effect?: CilEffect;
  provided: string[];
}

/**
 * The reference: the store copy rebuilt by the same semodule without our module, so that the
 * comparison sees our module and nothing a rebuild does differently from the store on disk.
 */
interface Reference {
  policy: string;
  /** The store's other outputs (file contexts, users), line by line. */
  files: Map<string, Set<string>>;
  seconds: number;
}

/** What semodule writes beside the binary policy: a module's filecon and user statements land here. */
const STORE_FILES = ['file_contexts', 'file_contexts.homedirs', 'homedir_template', 'seusers', 'users_extra'];

function storeFiles(root: string): Map<string, Set<string>> {
  return new Map(STORE_FILES.map((f) => [f, new Set(readFileSync(join(root, 'var/lib/selinux/default/active', f), 'utf8').split('\n'))]));
}

/** The lines each store file gained and lost against the reference, as components of the effect. */
function storeFilesDiff(before: Map<string, Set<string>>, after: Map<string, Set<string>>): CilEffect['components'] {
  const out: CilEffect['components'] = {};
  for (const [name, lines] of after) {
    const old = before.get(name)!;
    const added = [...lines].filter((l) => !old.has(l));
    const removed = [...old].filter((l) => !lines.has(l));
    if (added.length + removed.length > 0) out[`store ${name}`] = { added, removed };
  }
  return out;
}

const run = limiter(JOBS);
let work = '';
let reference: Promise<Reference> | undefined;
let storeTypes: Promise<Set<string>> | undefined;

/** Queued by the first link before its own job, so that it holds a slot before any link waits for it. */
function startReference(): Promise<Reference> {
  reference ??= run(async () => {
    const root = policyRoot('secmarkc-cil-oracle-ref-', { neverallow: true });
    try {
      const r = await spawnAsync(SEMODULE, ['-p', root, '-n', '-B']);
      if (r.status !== 0) throw new Error(`semodule -B failed: ${r.stdout}${r.stderr}`);
      const policy = join(work, 'reference.kern');
      copyFileSync(binaryPolicy(root), policy);
      return { policy, files: storeFiles(root), seconds: r.seconds };
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
  return reference;
}

/** The type names (and aliases) of the installed policy, read, never written. */
function installedTypes(): Promise<Set<string>> {
  storeTypes ??= setools<{ types: string[] }>({ mode: 'types', policy: `${STORE}/active/policy.kern` }).then((r) => new Set(r.types));
  return storeTypes;
}

/** Link `cil` (named after its module) into a fresh store copy, with a stub for what refpolicy lacks, and read the effect. */
async function link(label: string, expected: CilExpectation, cil: string): Promise<Linked> {
  const built = startReference();
  const types = await installedTypes();
  const provided = expected.uses.filter((t) => !types.has(t));
  return run(async () => {
    const dir = join(work, label);
    mkdirSync(dir);
    const files: string[] = [];
    if (provided.length > 0) {
      files.push(join(dir, `${STUB_MODULE}.cil`));
      writeFileSync(files[0]!, provided.map((t) => `(type ${t})\n`).join(''));
    }
    files.push(join(dir, `${expected.module}.cil`));
    writeFileSync(files.at(-1)!, cil);
    const root = policyRoot('secmarkc-cil-oracle-', { neverallow: true });
    try {
      const installed = await semoduleInstall(root, files);
      if (installed.status !== 0) return { status: installed.status, output: installed.output, linkSeconds: installed.seconds, provided };
      const reference = await built;
      const effect = await setools<CilEffect>({ mode: 'effect', original: reference.policy, policy: binaryPolicy(root) });
      Object.assign(effect.components, storeFilesDiff(reference.files, storeFiles(root)));
      return { status: 0, output: installed.output, linkSeconds: installed.seconds, effect, provided };
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
}

/** The fixture's module as `compile --format cil` prints it, and the name apply installs it under. */
function compileFixture(dir: string): { name: string; cil: string } {
  const result = compilePolicy(readPolicy(dir), 'policy.yaml', readPortTable(dir));
  if (!result.ok) throw new Error(result.diagnostics.map(formatDiagnostic).join('\n'));
  return { name: result.compiled.module.name, cil: emitCil(result.compiled.module) };
}

const fixtures = cases('valid');

// AVA starts a file's tests together: each queues its link (the limiter runs them in turn).
if (!refpolicySkipReason) {
  test.before(() => {
    work = mkdtempSync(join(tmpdir(), 'secmarkc-cil-oracle-'));
  });
  test.after.always(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });
}

for (const { name, dir } of fixtures) {
  refpolicyTest(refpolicyTitle(`valid/${name}: the module links into refpolicy and does exactly what policy.yaml says`), async (t) => {
    if (refpolicyMissing(t)) return;
    const expected = expectFixture(dir);
    const compiled = compileFixture(dir);
    t.is(compiled.name, expected.module, 'module name');
    const r = await link(name, expected, compiled.cil);
    t.is(r.status, 0, `semodule refused the module:\n${r.output}`);
    if (!r.effect) return;
    t.deepEqual(judgeCil(expected, r.effect, r.provided), []);
    const ref = await startReference();
    t.log(`${expected.types.length} packet types, ${expected.rules.length} rule permissions; linked in ${r.linkSeconds.toFixed(1)} s (reference build ${ref.seconds.toFixed(1)} s)`);
    if (r.provided.length > 0) t.log(`not in Debian's refpolicy, declared by the oracle's ${STUB_MODULE} module: ${r.provided.join(', ')}`);
  });
}

// The negative controls: browser-proxy's module with one mutation of each kind the oracle must
// see in the linked policy, and one that the link itself must refuse.
const MUTATED = 'browser-proxy';
const MUTATIONS = {
  extraGrant: '(allow user_t secmarkc_browser_client_packet_t (packet (send)))',
  missingGrant: '(allow kernel_t secmarkc_ssh_server_packet_t (packet (send)))',
  broadAttribute: '(typeattributeset packet_type (secmarkc_ndp_packet_t))',
  missingAudit: '(auditallow domain unlabeled_t (packet (send recv)))',
  extraUnlabeled: '(allow domain unlabeled_t (packet (forward_in)))',
  permissiveDomain: '(typepermissive sshd_t)',
  fileLabel: '(filecon "/usr/sbin/sshd" file (system_u object_r secmarkc_ssh_server_packet_t ((s0) (s0))))',
};

function mutant(): Promise<Linked> {
  const dir = fixtures.find((f) => f.name === MUTATED)!.dir;
  const lines = compileFixture(dir).cil.split('\n');
  for (const drop of [MUTATIONS.missingGrant, MUTATIONS.missingAudit]) {
    if (!lines.includes(drop)) throw new Error(`valid/${MUTATED} has no line ${drop} to drop`);
    lines.splice(lines.indexOf(drop), 1);
  }
  lines.push(MUTATIONS.extraGrant, MUTATIONS.broadAttribute, MUTATIONS.extraUnlabeled, MUTATIONS.permissiveDomain, MUTATIONS.fileLabel, '');
  return link('mutant', expectFixture(dir), lines.join('\n'));
}

refpolicyTest(refpolicyTitle(`the oracle fails on a mutated module (valid/${MUTATED} with ${Object.keys(MUTATIONS).join(', ')})`), async (t) => {
  if (refpolicyMissing(t)) return;
  const expected = expectFixture(fixtures.find((f) => f.name === MUTATED)!.dir);
  const r = await mutant();
  t.is(r.status, 0, r.output);
  if (!r.effect) return;
  const findings = judgeCil(expected, r.effect, r.provided);
  t.log(findings.join('\n'));
  const take = (re: RegExp) => {
    const hit = findings.filter((f) => re.test(f));
    t.true(hit.length > 0, `no finding matches ${re}`);
    return hit;
  };
  const explained = [
    ...take(/^rule beyond the policy: allow user_t secmarkc_browser_client_packet_t:packet send;/),
    ...take(/^rule missing: allow kernel_t secmarkc_ssh_server_packet_t:packet send$/),
    ...take(/^type secmarkc_ndp_packet_t: in attribute packet_type$/),
    // In packet_type, the ndp type is anyone's: corenet_unconfined_type (unconfined_t, init_t, ...) and more.
    ...take(/^rule beyond the policy: allow corenet_unconfined_type packet_type:packet .* on new types, e\.g\. allow \w+ secmarkc_ndp_packet_t:packet/),
    ...take(/^rule missing: auditallow domain unlabeled_t:packet (send|recv)$/),
    ...take(/^rule beyond the policy: allow domain unlabeled_t:packet forward_in$/),
    ...take(/^types changed: (added|removed) sshd_t .*permissive=(True|False)$/),
    // The module's file context replaces refpolicy's for the same path.
    ...take(/^store file_contexts changed: added \/usr\/sbin\/sshd\s+--\s+system_u:object_r:secmarkc_ssh_server_packet_t:s0$/),
    ...take(/^store file_contexts changed: removed \/usr\/sbin\/sshd\s+--\s+system_u:object_r:sshd_exec_t:s0$/),
  ];
  t.is(findings.filter((f) => /^rule missing: auditallow/.test(f)).length, 2);
  // Nothing is reported that the mutations do not explain, except other rules of refpolicy on packet_type.
  t.deepEqual(findings.filter((f) => !explained.includes(f) && !/^rule beyond the policy: \S+ \S+ packet_type:packet /.test(f)), []);
});

// The oracle's own halves, without tools: the expectation as the README reads, and the judgement.
test('the expectation is written from the YAML: types, grants, loader relabelto, unlabeled rules', (t) => {
  const expected = expectCil(`version: 1
table: t
unlabeled: audit
loader: [l_t]
neighbour_discovery: []
apps:
  a:
    domain: [d_t, e_t]
    connect: [{ports: [tcp/1]}]
    serve: [{ports: [tcp/2]}]
`);
  t.deepEqual(expected.types, ['t_a_client_packet_t', 't_a_server_packet_t']);
  t.deepEqual(expected.uses, ['d_t', 'e_t', 'l_t']);
  t.deepEqual(expected.rules, [
    ...['send', 'recv'].map((p) => `allow domain unlabeled_t:packet ${p}`),
    ...['client', 'server'].flatMap((dir) => [
      ...['d_t', 'e_t'].flatMap((d) => [`allow ${d} t_a_${dir}_packet_t:packet recv`, `allow ${d} t_a_${dir}_packet_t:packet send`]),
      `allow kernel_t t_a_${dir}_packet_t:packet send`,
      `allow l_t t_a_${dir}_packet_t:packet relabelto`,
    ]),
    ...['send', 'recv'].map((p) => `auditallow domain unlabeled_t:packet ${p}`),
  ].sort());
  t.throws(() => expectCil('version: 1\nunlabeled: deny\napps:\n  p:\n    programs: [/usr/bin/curl]\n'), { message: /does not model app key programs/ });
});

test('the judgement reads expanded rules on new types only, and a conditional grant is not the grant', (t) => {
  const expected: CilExpectation = { module: 'm', types: ['m_a_client_packet_t'], rules: ['allow d_t m_a_client_packet_t:packet send'], uses: ['d_t'] };
  const effect = (tuples: RuleTuple[]): CilEffect => ({
    newTypes: [{ name: 'm_a_client_packet_t', attributes: [], aliases: [], roles: [], permissive: false }],
    removedTypes: [],
    onNewTypes: [{ rule: 'R', tuples }],
    otherRules: { added: [], removed: [] },
    components: {},
  });
  const exact: RuleTuple = ['allow', 'd_t', 'm_a_client_packet_t', 'packet', 'send', ''];
  t.deepEqual(judgeCil(expected, effect([exact, ['allow', 'd_t', 'other_packet_t', 'packet', 'send', '']])), []);
  t.deepEqual(judgeCil(expected, effect([['allow', 'd_t', 'm_a_client_packet_t', 'packet', 'send', '[ b ]:True']])), [
    'rule beyond the policy: R (1 on new types, e.g. allow d_t m_a_client_packet_t:packet send [ b ]:True)',
    'rule missing: allow d_t m_a_client_packet_t:packet send',
  ]);
});

refpolicyTest(refpolicyTitle(`the link refuses a module that breaks a refpolicy neverallow (valid/${MUTATED} and a relabelto on shadow_t)`), async (t) => {
  if (refpolicyMissing(t)) return;
  // Debian's semanage.conf skips these checks (expand-check=0); the oracle's store copies do not.
  const dir = fixtures.find((f) => f.name === MUTATED)!.dir;
  const r = await link('neverallow', expectFixture(dir), `${compileFixture(dir).cil}(allow mozilla_t shadow_t (file (relabelto)))\n`);
  t.not(r.status, 0);
  t.regex(r.output, /neverallow check failed[\s\S]*\(neverallow \S+ shadow_t \(file \(relabelto\)\)\)[\s\S]*\(allow mozilla_t shadow_t \(file \(relabelto\)\)\)/);
});
