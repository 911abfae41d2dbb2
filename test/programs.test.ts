// Apps by program path, front half: the syntax, its diagnostics, the generated names and grants,
// and the file checks. The SELinux rights are a stand-in here (ProgramRights); the real ones are
// read from refpolicy in program-domain-refpolicy.test.ts and proven in the VM (17-programs).

import test from 'ava';
import { existsSync, linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compilePolicy } from '../src/compile/compile.js';
import type { ProgramInputs, ProgramRights } from '../src/compile/programs.js';
import { emitCil } from '../src/emit/cil.js';
import { formatDiagnostic } from '../src/policy/diagnostics.js';
import { fileContextRegex, programPathProblem } from '../src/policy/program-path.js';
import { checkProgramFile } from '../src/programs/files.js';
import { runCli } from './helpers/cli.js';

const POLICY = `version: 1
unlabeled: deny
apps:
  fetch:
    programs: [/usr/local/bin/fetch]
    connect:
      - to: [198.51.100.10]
        ports: [tcp/443]
`;

function rights(domains: string[], today: Record<string, string> = {}): ProgramRights {
  return {
    hasDomain: (d) => domains.includes(d),
    execTypeCil: (e) => [`(type ${e})`],
    domainCil: (d, p, e) => [`(type ${d}) ; mirrors ${p}, entered by ${e}`],
    transitionToday: (p, path) => today[`${p} ${path}`],
  };
}

function compile(text: string, programs: ProgramInputs = { rights: rights(['unconfined_t', 'initrc_t']) }) {
  return compilePolicy(text, 'policy.yaml', { programs });
}

function messages(result: ReturnType<typeof compile>): string[] {
  return result.diagnostics.map(formatDiagnostic);
}

test('a program app gets one domain per default parent, an exec type and the packet grants', (t) => {
  const result = compile(POLICY);
  t.true(result.ok, messages(result).join('\n'));
  if (!result.ok) return;
  const [app] = result.compiled.module.programs;
  t.is(app?.execType, 'secmarkc_fetch_exec_t');
  t.deepEqual(app?.domains.map((d) => [d.name, d.parent]), [
    ['secmarkc_fetch_unconfined_t', 'unconfined_t'],
    ['secmarkc_fetch_initrc_t', 'initrc_t'],
  ]);
  const grants = result.compiled.module.allows.filter((g) => g.target === 'secmarkc_fetch_client_packet_t' && !g.permissions.includes('relabelto')).map((g) => `${g.source} ${g.permissions.join(',')}`);
  t.deepEqual(grants.sort(), ['kernel_t send', 'secmarkc_fetch_initrc_t send,recv', 'secmarkc_fetch_unconfined_t send,recv']);
  const cil = emitCil(result.compiled.module);
  t.true(cil.includes('(filecon "/usr/local/bin/fetch" file (system_u object_r secmarkc_fetch_exec_t ((s0) (s0))))'), cil);
  t.true(cil.includes('(type secmarkc_fetch_unconfined_t) ; mirrors unconfined_t'));
});

test('default parents missing from the policy are skipped; written ones are errors', (t) => {
  const only = compile(POLICY, { rights: rights(['unconfined_t']) });
  t.true(only.ok);
  if (only.ok) t.deepEqual(only.compiled.module.programs[0]?.domains.map((d) => d.parent), ['unconfined_t']);
  const none = compile(POLICY, { rights: rights([]) });
  t.deepEqual(messages(none), ['policy.yaml:4:3: error SMC075: app "fetch": none of the default run_from domains (unconfined_t, initrc_t) is in the SELinux policy: say who runs its programs with "run_from"']);
  const written = compile(POLICY.replace('    connect:', '    run_from: [sysadm_t, unconfined_t]\n    connect:'), { rights: rights(['unconfined_t']) });
  t.deepEqual(messages(written), ['policy.yaml:6:16: error SMC075: run_from domain "sysadm_t" is not in the SELinux policy']);
});

test('programs need the SELinux policy: SMC077 without it', (t) => {
  t.deepEqual(messages(compile(POLICY, {})), [
    'policy.yaml:5:16: error SMC077: "programs" need the rules of the SELinux policy they will run under (their domains hold their parents\' rights): run where setools can read the loaded policy, or pass --selinux-policy FILE',
  ]);
});

test('a program that has a domain of its own today is refused, naming it', (t) => {
  const text = POLICY.replace('/usr/local/bin/fetch', '/usr/sbin/sshd');
  const result = compile(text, { rights: rights(['unconfined_t', 'initrc_t'], { 'unconfined_t /usr/sbin/sshd': 'sshd_t' }) });
  t.deepEqual(messages(result), [
    'policy.yaml:5:16: error SMC076: program "/usr/sbin/sshd" already runs in a domain of its own: unconfined_t enters "sshd_t" when it runs it. Name that domain with "domain: sshd_t" instead',
  ]);
});

test('path syntax, duplicates and run_from without programs are reported at their spans', (t) => {
  const text = `version: 1
unlabeled: deny
apps:
  a:
    programs: [bin/fetch, "/opt/my tool", /usr/bin/, /usr//bin/x, /usr/../bin/x, /usr/bin/curl]
    connect: [{to: [192.0.2.1], ports: [tcp/80]}]
  b:
    programs: [/usr/bin/curl]
    connect: [{to: [192.0.2.2], ports: [tcp/80]}]
  c:
    domain: mozilla_t
    run_from: [unconfined_t]
    connect: [{to: [192.0.2.3], ports: [tcp/80]}]
  d:
    connect: [{to: [192.0.2.4], ports: [tcp/80]}]
`;
  t.deepEqual(messages(compile(text)), [
    'policy.yaml:5:16: error SMC070: program "bin/fetch" is not an absolute path (programs are named by their full path, e.g. /usr/local/bin/fetch)',
    'policy.yaml:5:27: error SMC071: program "/opt/my tool" contains " ", which a file context cannot hold as written: allowed are letters, digits and . _ + @ % = , : ~ / -',
    'policy.yaml:5:43: error SMC070: program "/usr/bin/" ends with "/": a program is a file, not a directory',
    'policy.yaml:5:54: error SMC070: program "/usr//bin/x" contains "//": write the path in its normal form',
    'policy.yaml:5:67: error SMC070: program "/usr/../bin/x" contains "." or ".." segments: write the path in its normal form',
    'policy.yaml:8:16: error SMC072: program "/usr/bin/curl" is already in app "a" (line 5): a file has one label, so it runs in one app\'s domain',
    'policy.yaml:12:5: error SMC074: app "c": "run_from" says who runs its "programs", and the app has none',
    'policy.yaml:14:3: error SMC004: app "d" has neither "domain" (the SELinux domain(s) that may use its traffic) nor "programs" (executables to run in a domain of their own)',
  ]);
});

test('an app may name a domain and programs: both get its grants', (t) => {
  const result = compile(POLICY.replace('    programs:', '    domain: mozilla_t\n    programs:'));
  t.true(result.ok);
  if (!result.ok) return;
  const sources = result.compiled.module.allows.filter((g) => g.target === 'secmarkc_fetch_client_packet_t').map((g) => g.source);
  t.true(sources.includes('mozilla_t') && sources.includes('secmarkc_fetch_unconfined_t'));
});

test('generated names that would clash are refused', (t) => {
  // app "a" run from "b_exec_t" would be secmarkc_a_b_exec_t, the exec type of app "a_b".
  const text = `version: 1
unlabeled: deny
apps:
  a:
    programs: [/usr/bin/a]
    run_from: [b_exec_t]
    connect: [{to: [192.0.2.1], ports: [tcp/80]}]
  a_b:
    programs: [/usr/bin/ab]
    run_from: [unconfined_t]
    connect: [{to: [192.0.2.2], ports: [tcp/80]}]
`;
  const result = compile(text, { rights: rights(['b_exec_t', 'unconfined_t']) });
  t.deepEqual(messages(result), ['policy.yaml:9:16: error SMC078: the exec type of app "a_b" would be named "secmarkc_a_b_exec_t", like the domain of app "a" run from b_exec_t: rename the app']);
});

test('file contexts escape the regex characters a path may hold', (t) => {
  t.is(fileContextRegex('/opt/g++-12/bin/x.y'), '/opt/g\\+\\+-12/bin/x\\.y');
  t.is(programPathProblem('/usr/bin/\u202ecurl')?.code, 'SMC071');
  t.is(programPathProblem('/usr/bin/a"b')?.code, 'SMC071');
  t.is(programPathProblem('/usr/bin/curl'), undefined);
});

test('checkProgramFile: absent, directory, symbolic link and hard links', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'secmarkc-programs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'real'), '#!/bin/sh\n');
  symlinkSync(join(dir, 'real'), join(dir, 'link'));
  linkSync(join(dir, 'real'), join(dir, 'hard'));
  mkdirSync(join(dir, 'sub'));
  t.deepEqual(checkProgramFile(join(dir, 'absent'), false), { ok: true, path: join(dir, 'absent') });
  t.deepEqual(checkProgramFile(join(dir, 'absent'), true), { ok: false, message: 'does not exist on this host' });
  t.deepEqual(checkProgramFile(join(dir, 'sub'), true), { ok: false, message: 'is not a regular file' });
  t.deepEqual(checkProgramFile(join(dir, 'link'), true), { ok: true, path: join(dir, 'real'), symlinkTo: join(dir, 'real'), hardLinks: 2 });
  const missing = compilePolicy(POLICY.replace('/usr/local/bin/fetch', join(dir, 'absent')), 'policy.yaml', {
    programs: { rights: rights(['unconfined_t']), checkFile: (p) => checkProgramFile(p, true) },
  });
  t.deepEqual(messages(missing), [`policy.yaml:5:16: error SMC073: program "${join(dir, 'absent')}" does not exist on this host`]);
  const linked = compilePolicy(POLICY.replace('/usr/local/bin/fetch', join(dir, 'link')), 'policy.yaml', {
    programs: { rights: rights(['unconfined_t']), checkFile: (p) => checkProgramFile(p, true) },
  });
  t.true(linked.ok);
  t.deepEqual(messages(linked), [
    `policy.yaml:5:16: warning SMC079: program "${join(dir, 'link')}" is a symbolic link to "${join(dir, 'real')}": that file gets the label (exec checks the file a link leads to)`,
    `policy.yaml:5:16: warning SMC079: program "${join(dir, 'real')}" has 2 hard links: a label belongs to the file, so every name of it runs in the app's domain`,
  ]);
  if (linked.ok) t.is(linked.compiled.module.programs[0]?.files[0]?.path, join(dir, 'real'));
});

const REFPOLICY = '/etc/selinux/default/policy/policy.33';

test('compile --selinux-policy: the example program app compiles against Debian refpolicy', (t) => {
  if (!existsSync(REFPOLICY) || !existsSync('/usr/bin/sesearch')) {
    t.log(`skipped: needs ${REFPOLICY} and setools (Debian: selinux-policy-default setools)`);
    t.pass();
    return;
  }
  const r = runCli(['compile', '--format', 'cil', '--selinux-policy', REFPOLICY, 'examples/curl-api.yaml']);
  t.is(r.status, 0, r.stderr);
  t.true(r.stdout.includes('(filecon "/usr/local/bin/api-curl" file (system_u object_r secmarkc_api_exec_t ((s0) (s0))))'));
  for (const domain of ['secmarkc_api_unconfined_t', 'secmarkc_api_initrc_t']) {
    t.true(r.stdout.includes(`(allow ${domain} secmarkc_api_client_packet_t (packet (send recv)))`), domain);
    t.true(r.stdout.includes(`(type ${domain})`), domain);
  }
  // systemd (init_t) enters initrc_t on exec of a bin_t program: it enters the service's domain.
  t.true(r.stdout.includes('(typetransition init_t secmarkc_api_exec_t process secmarkc_api_initrc_t)'));
  t.true(r.stdout.includes('(typetransition unconfined_t secmarkc_api_exec_t process secmarkc_api_unconfined_t)'));
  // No packet rule for a generated domain but the app's.
  const packets = r.stdout.split('\n').filter((l) => /^\(allow secmarkc_api_\w+_t \S+ \(packet/.test(l));
  t.deepEqual(packets.map((l) => l.split(' ')[2]), ['secmarkc_api_client_packet_t', 'secmarkc_api_client_packet_t']);
});

test('without an SELinux policy to read, a program app is SMC077 at its line (exit 2)', (t) => {
  if (existsSync('/sys/fs/selinux/policy')) {
    t.log('skipped: this host has a loaded SELinux policy, which compile reads');
    t.pass();
    return;
  }
  const r = runCli(['check', '--no-audit', 'examples/curl-api.yaml']);
  t.is(r.status, 2);
  t.regex(r.stderr, /^examples\/curl-api\.yaml:8:16: error SMC077: "programs" need the rules of the SELinux policy/m);
});
