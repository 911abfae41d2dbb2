// `secmarkc learn` as a user runs it: files, stdin, --policy, --json, bad input.

import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compilePolicy } from '../../src/compile/compile.js';
import { ROOT, runCli } from '../helpers/cli.js';

const AUDIT = 'test/fixtures/avc/audit.log';
const SKELETON = `version: 1
unlabeled: audit
apps:
  a:
    domain: smc_a_t
    connect:
      - to: [192.0.2.10, "2001:db8::10"]
        ports: [tcp/3128]
`;

test('audit.log: a snippet that is a valid policy, broken lines reported with their numbers', (t) => {
  const r = runCli(['learn', '--audit-log', AUDIT]);
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /^# secmarkc learn: suggested policy entries\. Review them; nothing has been applied\./);
  t.regex(r.stdout, /assumes tcp \(--proto\)/);
  t.regex(r.stdout, /^ {2}smc_c:\n {4}domain: smc_c_t\n {4}connect:\n {6}- to: \["192\.0\.2\.10"\]\n {8}ports: \[tcp\/3128\] # 3 denied \{ recv \}/m);
  const lines = readFileSync(join(ROOT, AUDIT), 'utf8').split('\n');
  const broken = [lines.findIndex((l) => l.includes('192.0.2.300')) + 1, lines.findIndex((l) => l.includes('99999')) + 1];
  t.regex(r.stderr, /2 packet AVC lines in test\/fixtures\/avc\/audit\.log could not be read/);
  t.true(r.stderr.includes(`${AUDIT}:${broken[0]}: daddr "192.0.2.300" is not an address`), r.stderr);
  t.true(r.stderr.includes(`${AUDIT}:${broken[1]}: dest "99999" is not a port`), r.stderr);
  t.true(compilePolicy(`version: 1\nunlabeled: deny\n${r.stdout}`, 'snippet.yaml').ok);
});

test('stdin, --policy and --json: claimed entries skipped; --proto changes what is looked up', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'secmarkc-learn-'));
  const policyPath = join(dir, 'policy.yaml');
  writeFileSync(policyPath, SKELETON);
  try {
    const text = runCli(['learn', '--audit-log', '-', '--policy', policyPath], readFileSync(join(ROOT, AUDIT), 'utf8'));
    t.is(text.status, 0, text.stderr);
    t.regex(text.stdout, /^apps: \{\}$/m);
    t.regex(text.stdout, /# skipped: smc_b_t connect to 192\.0\.2\.10 tcp\/3128 \(1x\): app a already labels it/);
    t.regex(text.stderr, /<stdin>:\d+: daddr "192\.0\.2\.300"/);

    // As udp, app a's tcp/3128 does not cover these: smc_c_t gets an app of its own.
    const json = runCli(['learn', '--audit-log', AUDIT, '--policy', policyPath, '--json', '--proto', 'udp']);
    t.is(json.status, 0, json.stderr);
    const data = JSON.parse(json.stdout) as {
      protocol: string; avcCount: number; malformed: unknown[];
      apps: { name: string; existing: boolean; connect: { peer: string; protocol: string; port: number; count: number }[] }[];
    };
    t.is(data.protocol, 'udp');
    t.is(data.avcCount, 8);
    t.is(data.malformed.length, 2);
    t.deepEqual(data.apps.map((a) => [a.name, a.existing, a.connect.map((o) => `${o.peer} ${o.protocol}/${o.port} ${o.count}`)]), [
      ['smc_c', false, ['192.0.2.10 udp/3128 3', '2001:db8::10 udp/3128 3']],
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad usage and missing files', (t) => {
  const range = runCli(['learn', '--audit-log', AUDIT, '--ephemeral', '60000-1000']);
  t.is(range.status, 2);
  t.is(range.stderr, "secmarkc: option '--ephemeral <from-to>' argument '60000-1000' is invalid. It takes a port range FROM-TO within 1-65535, e.g. 32768-60999.\n(run with --help for usage)\n");
  const missing = runCli(['learn', '--audit-log', 'no/such/audit.log']);
  t.is(missing.status, 1);
  t.regex(missing.stderr, /cannot read no\/such\/audit\.log: .*ENOENT/);
  const both = runCli(['learn', '--audit-log', AUDIT, '--dmesg']);
  t.is(both.status, 2);
  const help = runCli(['learn', '--help']);
  t.is(help.status, 0);
  t.regex(help.stdout, /--audit-log <file>[\s\S]*--dmesg[\s\S]*--policy <file>[\s\S]*--proto <protocol>[\s\S]*--json[\s\S]*--output <file>/);
});

test('an AVC from a shared domain whose event names its executable suggests a program app', (t) => {
  // auditd writes the SYSCALL record of the same event (audit(TIME:SERIAL)) with exe=.
  const log = [
    'type=AVC msg=audit(1700000000.100:501): avc:  denied  { send } for  pid=812 comm="curl" saddr=192.0.2.1 src=40001 daddr=203.0.113.80 dest=443 netif=eth0 scontext=unconfined_u:unconfined_r:unconfined_t:s0 tcontext=system_u:object_r:secmarkc_x_client_packet_t:s0 tclass=packet permissive=0',
    'type=SYSCALL msg=audit(1700000000.100:501): arch=c000003e syscall=42 success=no exit=-13 a0=5 items=0 ppid=700 pid=812 auid=0 uid=0 comm="curl" exe="/usr/local/bin/api-curl" subj=unconfined_u:unconfined_r:unconfined_t:s0 key=(null)',
    'type=AVC msg=audit(1700000001.100:502): avc:  denied  { send } for  pid=813 comm="bash" saddr=192.0.2.1 src=40002 daddr=203.0.113.81 dest=80 netif=eth0 scontext=unconfined_u:unconfined_r:unconfined_t:s0 tcontext=system_u:object_r:secmarkc_x_client_packet_t:s0 tclass=packet permissive=0',
    'type=AVC msg=audit(1700000002.100:503): avc:  denied  { send } for  pid=900 comm="firefox" saddr=192.0.2.1 src=40003 daddr=203.0.113.82 dest=443 netif=eth0 scontext=unconfined_u:unconfined_r:mozilla_t:s0 tcontext=system_u:object_r:secmarkc_x_client_packet_t:s0 tclass=packet permissive=0',
    'type=SYSCALL msg=audit(1700000002.100:503): arch=c000003e syscall=42 success=no exit=-13 pid=900 comm="firefox" exe="/usr/lib/firefox/firefox" subj=unconfined_u:unconfined_r:mozilla_t:s0 key=(null)',
  ].join('\n');
  const dir = mkdtempSync(join(tmpdir(), 'secmarkc-learn-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'audit.log'), log + '\n');
  const r = runCli(['learn', '--audit-log', join(dir, 'audit.log')]);
  t.is(r.status, 0, r.stderr);
  // The program of unconfined_t gets an app of its own; unconfined_t without an exe stays a domain
  // app; mozilla_t is a domain of its own, whatever its executable.
  t.regex(r.stdout, /^ {2}api_curl:\n {4}programs: \["\/usr\/local\/bin\/api-curl"\] # seen as exe= of the events; runs in unconfined_t today\n {4}run_from: \[unconfined_t\]\n {4}connect:\n {6}- to: \["203\.0\.113\.80"\]\n {8}ports: \[tcp\/443\]/m);
  t.regex(r.stdout, /^ {2}unconfined:\n {4}domain: unconfined_t\n {4}connect:\n {6}- to: \["203\.0\.113\.81"\]/m);
  t.regex(r.stdout, /^ {2}mozilla:\n {4}domain: mozilla_t\n/m);
  const snippet = compilePolicy(`version: 1\nunlabeled: deny\n${r.stdout}`, 'snippet.yaml', {
    programs: { rights: { hasDomain: () => true, execTypeCil: () => [], domainCil: () => [], transitionToday: () => undefined } },
  });
  t.true(snippet.ok, JSON.stringify(snippet.diagnostics));
});
