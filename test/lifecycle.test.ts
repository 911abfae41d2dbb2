// apply --rollback and apply --on-invalid against the real kernel, in private network
// namespaces (counter objects stand in for secmark objects: --no-lsm), and the lockdown ruleset:
// nft's bytes for it, and that it really drops traffic over a veth pair.

import test from 'ava';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lockdownRuleset } from '../src/compile/lockdown.js';
import { emitNftText } from '../src/emit/nft-text.js';
import { encodeRuleset } from '../src/netlink/encode-ruleset.js';
import { runCli } from './helpers/cli.js';
import { inFreshNamespace, NFT, nsTest, nsTitle } from './helpers/namespace.js';
import { policyWorkspace } from './helpers/policy-workspace.js';
import { captureBatch, captureSkipReason, sideBySide, withoutAck } from './netlink/helpers/golden.js';

const ENTRY = fileURLToPath(new URL('./helpers/cli-entry.ts', import.meta.url));
const CLI = `${process.execPath} --import=tsx ${ENTRY}`;
/** p[0] (the example, proxy on tcp/3128), p[1] (tcp/8080 instead), an invalid one, and a state dir. */
const workspace = () => policyWorkspace('lifecycle', [3128, 8080]);

const drift = (policy: string, state: string) => `${CLI} status ${policy} --no-lsm >/dev/null && echo "${state}: no drift from $(basename ${policy})"`;

nsTest(nsTitle('apply --rollback loads the previous policy, a second rollback the one after; nothing to roll back to changes nothing'), (t) => {
  const w = workspace();
  const opts = `--no-lsm --state-dir ${w.state}`;
  const run = inFreshNamespace(
    [
      `${CLI} apply ${w.p[0]} ${opts} || exit 9`,
      `${CLI} apply ${w.p[1]} ${opts} || exit 9`,
      `${CLI} apply --rollback ${opts} || exit 9`,
      drift(w.p[0], 'after rollback'),
      `${CLI} apply --rollback ${opts} || exit 9`,
      drift(w.p[1], 'after second rollback'),
      `${NFT} list ruleset > ${w.state}/before`,
      `${CLI} apply --rollback --no-lsm --state-dir ${w.state}/empty; echo "empty rc=$?"`,
      `${NFT} list ruleset | cmp -s - ${w.state}/before && echo "empty: unchanged"`,
    ].join('\n'),
  );
  t.is(run.status, 0, run.stderr);
  t.regex(run.stdout, /after rollback: no drift from p0\.yaml/);
  t.regex(run.stdout, /after second rollback: no drift from p1\.yaml/);
  t.regex(run.stdout, new RegExp(`rolled back table inet secmarkc to the policy compiled from ${w.p[0]} \\(sha256 [0-9a-f]{12}\\)`));
  t.regex(run.stdout, /empty rc=1/);
  t.regex(run.stderr, /secmarkc: nothing to roll back to: no previous policy recorded for table secmarkc .*Nothing was changed\./);
  t.regex(run.stdout, /empty: unchanged/);
  const history = readFileSync(join(w.state, 'secmarkc.history'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { event: string }).event);
  t.deepEqual(history, ['apply', 'apply', 'rollback', 'rollback']);
});

nsTest(nsTitle('a damaged previous record is refused with its path; the live table stays'), (t) => {
  const w = workspace();
  const opts = `--no-lsm --state-dir ${w.state}`;
  const run = inFreshNamespace(
    [
      `${CLI} apply ${w.p[0]} ${opts} && ${CLI} apply ${w.p[1]} ${opts} || exit 9`,
      // The first apply's record (secmarkc.record.1.json) is the previous one now.
      `head -c 200 ${w.state}/secmarkc.record.1.json > ${w.state}/cut && mv ${w.state}/cut ${w.state}/secmarkc.record.1.json`,
      `${CLI} apply --rollback ${opts}; echo "rc=$?"`,
      drift(w.p[1], 'after refused rollback'),
    ].join('\n'),
  );
  t.regex(run.stdout, /rc=1/, run.stderr);
  t.regex(run.stderr, new RegExp(`secmarkc: state file ${w.state}/secmarkc.record.1.json is corrupt \\(its content changed since it was written: 200 bytes.*\\. Nothing was changed\\.`));
  t.regex(run.stdout, /after refused rollback: no drift from p1\.yaml/);
});

nsTest(nsTitle('--on-invalid keep loads the last good policy when there is no table (as at boot); exit 2 and the reason'), (t) => {
  const w = workspace();
  const opts = `--no-lsm --state-dir ${w.state}`;
  const run = inFreshNamespace(
    [
      `${CLI} apply ${w.p[0]} ${opts} && ${CLI} remove ${opts} || exit 9`,
      `${CLI} apply ${w.bad} --on-invalid keep ${opts}; echo "rc=$?"`,
      drift(w.p[0], 'after keep'),
      `${CLI} apply ${w.bad} ${opts}; echo "fail rc=$?"`,
    ].join('\n'),
  );
  t.regex(run.stdout, /^rc=2$/m, run.stderr);
  t.regex(run.stderr, new RegExp(`^${w.bad}:\\d+:\\d+: error SMC031: `, 'm'));
  t.regex(run.stderr, new RegExp(`secmarkc: ${w.bad} is invalid: kept the last good policy, compiled from ${w.p[0]}`));
  t.regex(run.stdout, /after keep: no drift from p0\.yaml/);
  t.regex(run.stdout, /^fail rc=2$/m, 'the default (fail) changes nothing and still exits 2');
  const events = readFileSync(join(w.state, 'secmarkc.history'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { event: string }).event);
  t.deepEqual(events, ['apply', 'remove', 'keep']);
});

nsTest(nsTitle('--on-invalid keep without a record loads nothing and never locks down; lockdown falls back on a refused batch'), (t) => {
  const w = workspace();
  const run = inFreshNamespace(
    [
      `${CLI} apply ${w.bad} --on-invalid keep --no-lsm --state-dir ${w.state} 2>${w.state}-e1; echo "rc=$?"`,
      `${NFT} list tables; echo "tables listed"`,
      // A table of ours that no record knows (loaded with another state directory): left alone.
      `${CLI} apply ${w.p[1]} --no-lsm --state-dir ${w.state}-other 2>/dev/null || exit 9`,
      `${CLI} apply ${w.bad} --on-invalid keep --no-lsm --state-dir ${w.state}; echo "live rc=$?"`,
      drift(w.p[1], 'after keep with a live table'),
      `${NFT} delete table inet secmarkc`,
      // The secmark version is refused by this kernel (no LSM): a runtime failure, then lockdown.
      `${CLI} apply ${w.p[0]} --no-module --on-invalid lockdown --state-dir ${w.state}; echo "refused rc=$?"`,
      `${NFT} list table inet secmarkc`,
    ].join('\n'),
  );
  t.regex(run.stdout, /^rc=2$/m, run.stderr);
  const e1 = readFileSync(`${w.state}-e1`, 'utf8');
  t.regex(e1, /no last good policy recorded for table secmarkc /);
  t.notRegex(e1, /LOCKDOWN/, 'keep never locks down');
  t.regex(e1, new RegExp(`secmarkc: ${w.bad} is invalid, and there is no last good policy to keep: nothing was loaded \\(keep never locks down\\); table inet secmarkc is not loaded: secmarkc does not filter this host\\.`));
  t.regex(run.stdout, /^tables listed$/m);
  t.notRegex(run.stdout, /table inet secmarkc\n(?:.|\n)*tables listed/, 'no table after keep without a record');
  t.regex(run.stdout, /^live rc=2$/m);
  t.regex(run.stderr, /nothing was loaded \(keep never locks down\); the live table inet secmarkc is left as it is: a table inet secmarkc that matches no record/);
  t.regex(run.stdout, /after keep with a live table: no drift from p1\.yaml/);
  t.regex(run.stdout, /^refused rc=1$/m);
  t.regex(run.stderr, new RegExp(`${w.p[0]} could not be applied: LOCKDOWN`));
  t.regex(run.stdout, /chain input \{\s+type filter hook input priority filter; policy drop;\s+iif "lo" counter packets \d+ bytes \d+ accept comment "lockdown: loopback stays open"/);
});

nsTest(nsTitle('a missing policy file: keep with no record is nothing to apply (exit 0); with a record it keeps it (exit 1), sending nothing when it is live; fail changes nothing; lockdown locks down'), (t) => {
  const w = workspace();
  const missing = join(w.state, '..', 'missing.yaml');
  const opts = `--no-lsm --state-dir ${w.state}`;
  const run = inFreshNamespace(
    [
      `${CLI} apply ${missing} --on-invalid keep ${opts} 2>${w.state}-e1; echo "no record rc=$?"`,
      `${NFT} list tables | grep -c secmarkc; test -e ${w.state} && echo "state dir made" || echo "no state dir"`,
      `${CLI} apply ${missing} --on-invalid keep --dry-run ${opts}; echo "dry rc=$?"`,
      `${CLI} apply ${missing} ${opts}; echo "fail rc=$?"`,
      `${CLI} apply ${w.p[0]} ${opts} 2>/dev/null || exit 9`,
      `${CLI} apply ${missing} --on-invalid keep ${opts} 2>${w.state}-e2 >${w.state}-o2; echo "live rc=$?"`,
      `${NFT} delete table inet secmarkc`,
      `${CLI} apply ${missing} --on-invalid keep ${opts} 2>${w.state}-e3 >${w.state}-o3; echo "record rc=$?"`,
      drift(w.p[0], 'after keep'),
      `${CLI} apply ${missing} --on-invalid lockdown ${opts} 2>${w.state}-e4; echo "lockdown rc=$?"`,
      `${NFT} list table inet secmarkc | grep -c 'policy drop'`,
    ].join('\n'),
  );
  const err = (n: number) => readFileSync(`${w.state}-e${n}`, 'utf8');
  const out = (n: number) => readFileSync(`${w.state}-o${n}`, 'utf8');
  t.regex(run.stdout, /^no record rc=0$/m, err(1));
  t.is(err(1), `secmarkc: ${missing} does not exist and no policy was ever applied for table secmarkc (no record in ${w.state}): nothing to apply; table inet secmarkc is not loaded: secmarkc does not filter this host. Write the policy, then run: systemctl restart secmarkc (or secmarkc apply ${missing}).\n`);
  t.regex(run.stdout, /^0\nno state dir$/m, 'no table, and nothing written');
  t.regex(run.stdout, /^dry rc=0$/m);
  t.regex(run.stdout, /^fail rc=1$/m);
  t.regex(run.stderr, new RegExp(`secmarkc: policy ${missing} does not exist\\. Nothing was changed\\.`));
  t.regex(run.stdout, /^live rc=1$/m, err(2));
  t.regex(err(2), new RegExp(`^secmarkc: policy ${missing} does not exist\\nsecmarkc: ${missing} does not exist: the last good policy, compiled from ${w.p[0]} .*, is live already: left as it is\\.`));
  t.is(out(2), '', 'no batch when the last good policy is live');
  t.regex(run.stdout, /^record rc=1$/m, err(3));
  t.regex(out(3), /^applied table inet secmarkc/m);
  t.regex(err(3), new RegExp(`${missing} does not exist: kept the last good policy, compiled from ${w.p[0]}`));
  t.regex(run.stdout, /after keep: no drift from p0\.yaml/);
  t.regex(run.stdout, /^lockdown rc=1$/m, err(4));
  t.regex(err(4), new RegExp(`${missing} does not exist: LOCKDOWN`));
  t.regex(run.stdout, /^2$/m, 'two policy drop chains');
  const events = readFileSync(join(w.state, 'secmarkc.history'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { event: string; unchanged?: boolean });
  t.deepEqual(events.map((e) => `${e.event}${e.unchanged ? ' (unchanged)' : ''}`), ['apply', 'keep (unchanged)', 'keep', 'lockdown']);
});

// ---------------------------------------------------------------- the lockdown ruleset

const skip = captureSkipReason();
const goldenTitle = 'lockdown: our batch equals the one nft sends for the emitted text';
(skip ? test.skip : test)(skip ? `${goldenTitle} [skipped: ${skip}]` : goldenTitle, (t) => {
  const ruleset = lockdownRuleset('secmarkc');
  const dir = mkdtempSync(join(tmpdir(), 'secmarkc-lockdown-'));
  const file = join(dir, 'lockdown.nft');
  writeFileSync(file, emitNftText(ruleset));
  const theirs = captureBatch(file).bytes;
  const ours = withoutAck(encodeRuleset(ruleset, { mode: 'replace', seqStart: 0 }).bytes);
  t.true(Buffer.from(ours).equals(Buffer.from(theirs)), sideBySide(ours, theirs));
});

nsTest(nsTitle('lockdown drops TCP over a veth pair in both directions, leaves loopback and other tables alone'), (t) => {
  const w = workspace();
  // This namespace ("host") and a peer namespace (a child unshare -n) joined by a veth pair.
  const serve = (addr: string) =>
    `${process.execPath} -e "require('net').createServer((s) => s.end('hi')).listen(7777, '${addr}', () => console.log('listening'))"`;
  const connect = (addr: string, label: string) =>
    `${process.execPath} -e "const s = require('net').connect(7777, '${addr}'); s.setTimeout(1500, () => { console.log('${label}: no answer'); process.exit(0); }); s.on('data', () => { console.log('${label}: connected'); process.exit(0); }); s.on('error', (e) => { console.log('${label}: ' + e.code); process.exit(0); })"`;
  const script = [
    'ip link set lo up',
    'unshare -n sleep 60 & peer=$!; sleep 0.3',
    'ip link add v-host type veth peer name v-peer && ip link set v-peer netns $peer',
    'ip addr add 192.0.2.1/24 dev v-host && ip link set v-host up',
    'nsenter --net=/proc/$peer/ns/net sh -c "ip link set lo up; ip addr add 192.0.2.2/24 dev v-peer; ip link set v-peer up"',
    `nsenter --net=/proc/$peer/ns/net ${serve('192.0.2.2')} & srv1=$!`,
    `${serve('0.0.0.0')} & srv2=$!`,
    'sleep 1',
    `${NFT} add table ip other`,
    connect('192.0.2.2', 'out before'),
    `${CLI} apply ${w.bad} --on-invalid lockdown --no-lsm --state-dir ${w.state} 2>/dev/null; echo "rc=$?"`,
    connect('192.0.2.2', 'out during'),
    `nsenter --net=/proc/$peer/ns/net ${connect('192.0.2.1', 'in during')}`,
    connect('127.0.0.1', 'loopback during'),
    `${NFT} list tables`,
    'kill $srv1 $srv2 $peer',
  ].join('\n');
  const run = inFreshNamespace(script);
  t.regex(run.stdout, /out before: connected/, run.stderr);
  t.regex(run.stdout, /rc=2/);
  t.regex(run.stdout, /out during: no answer/);
  t.regex(run.stdout, /in during: no answer/);
  t.regex(run.stdout, /loopback during: connected/);
  t.regex(run.stdout, /table ip other/);
});

test('--dry-run with --on-invalid says what it would load and sends nothing (no root needed)', (t) => {
  const w = workspace();
  const r = runCli(['apply', w.bad, '--on-invalid', 'keep', '--dry-run', '--state-dir', w.state]);
  t.is(r.status, 2, r.stderr);
  t.is(r.stdout, 'would load nothing: no last good policy for table inet secmarkc (keep never locks down)\n');
  const l = runCli(['apply', w.bad, '--on-invalid', 'lockdown', '--dry-run', '--state-dir', w.state]);
  t.is(l.status, 2, l.stderr);
  t.is(l.stdout, 'would lock down table inet secmarkc (drop all but loopback)\n');
  t.regex(r.stderr, /error SMC031/);
  t.throws(() => readFileSync(join(w.state, 'secmarkc.history')), { code: 'ENOENT' }, 'nothing recorded');
});

test('--rollback takes no POLICY; a bad --on-invalid is a usage error', (t) => {
  const w = workspace();
  const a = runCli(['apply', w.p[0], '--rollback']);
  t.is(a.status, 2);
  t.regex(a.stderr, /--rollback takes no POLICY/);
  const b = runCli(['apply', w.p[0], '--on-invalid', 'open']);
  t.is(b.status, 2);
  t.is(b.stderr, "secmarkc: option '--on-invalid <mode>' argument 'open' is invalid. Allowed choices are fail, keep, lockdown.\n(run with --help for usage)\n");
});
