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
  t.regex(range.stderr, /--ephemeral "60000-1000" is not a port range/);
  const missing = runCli(['learn', '--audit-log', 'no/such/audit.log']);
  t.is(missing.status, 1);
  t.regex(missing.stderr, /cannot read no\/such\/audit\.log: .*ENOENT/);
  const both = runCli(['learn', '--audit-log', AUDIT, '--dmesg']);
  t.is(both.status, 2);
  const help = runCli(['learn', '--help']);
  t.is(help.status, 0);
  t.regex(help.stdout, /--audit-log <file>[\s\S]*--dmesg[\s\S]*--policy <file>[\s\S]*--proto <protocol>[\s\S]*--json[\s\S]*--output <file>/);
});
