// Applies under faults, against the real kernel in private network namespaces (--no-lsm): kills
// at every step and at random moments, concurrent appliers with a third-party nft writer,
// read-only, damaged and forged state. Every trial ends with the kernel, the record and what
// `status` says in agreement, or with an error that says what is live.

import test from 'ava';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFastCli, type FastCli } from './helpers/fast-cli.js';
import { ROOT } from './helpers/cli.js';
import { inFreshNamespace, NFT, nsTest, nsTitle } from './helpers/namespace.js';

const EXAMPLE_TEXT = readFileSync(join(ROOT, 'examples/browser-proxy.yaml'), 'utf8');
const PORTS = ['3128', '8080', '8443', '9000', '9100'];

let cli: FastCli | undefined;
test.before(async () => {
  cli = await buildFastCli();
});
test.after.always(() => cli?.remove());
const CLI = () => cli!.command;

interface Workspace {
  dir: string;
  /** p[0..4]: the example on ports 3128, 8080, 8443, 9000, 9100. */
  p: string[];
  bad: string;
  state: string;
}

function workspace(): Workspace {
  const dir = mkdtempSync(join(tmpdir(), 'secmarkc-faults-'));
  const write = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  return {
    dir,
    p: PORTS.map((port, i) => write(`p${i}.yaml`, EXAMPLE_TEXT.replace('tcp/3128', `tcp/${port}`))),
    bad: write('bad.yaml', EXAMPLE_TEXT.replace('tcp/3128', 'tcp/0')),
    state: join(dir, 'state'),
  };
}

/** Shell: which of the workspace's policies is live (by drift), or "none"/"other". */
function whichLive(w: Workspace, label: string): string {
  const checks = w.p.map((p, i) => `${CLI()} status ${p} --no-lsm >/dev/null 2>&1 && echo "${label}: p${i}" && return`).join('\n  ');
  return [
    `which_${label.replace(/\W/g, '_')}() {`,
    `  ${NFT} list table inet secmarkc >/dev/null 2>&1 || { echo "${label}: none"; return; }`,
    `  ${checks}`,
    `  echo "${label}: other"`,
    `}`,
    `which_${label.replace(/\W/g, '_')}`,
  ].join('\n');
}

nsTest(nsTitle('status says which record is live; --rollback refuses to load what is already live (defect 3)'), (t) => {
  const w = workspace();
  const opts = `--no-lsm --state-dir ${w.state}`;
  const run = inFreshNamespace(
    [
      `${CLI()} apply ${w.p[0]} ${opts} 2>/dev/null && ${CLI()} apply ${w.p[1]} ${opts} 2>/dev/null || exit 9`,
      `${CLI()} status ${opts} > ${w.dir}/s1; echo "status1 rc=$?"`,
      // Someone loads p0 behind our records' back (another state directory).
      `${CLI()} apply ${w.p[0]} --no-lsm --state-dir ${w.dir}/elsewhere 2>/dev/null || exit 9`,
      `${CLI()} status ${opts} > ${w.dir}/s2; echo "status2 rc=$?"`,
      `${CLI()} apply --rollback ${opts}; echo "rollback rc=$?"`,
      whichLive(w, 'after refused rollback'),
    ].join('\n'),
  );
  const s1 = readFileSync(join(w.dir, 's1'), 'utf8');
  const s2 = readFileSync(join(w.dir, 's2'), 'utf8');
  t.regex(run.stdout, /status1 rc=0/, run.stderr);
  t.regex(s1, new RegExp(`record: the live table is the current record \\(compiled from ${w.p[1]}`));
  t.regex(run.stdout, /status2 rc=3/);
  t.regex(s2, new RegExp(`record: MISMATCH: .*the live table is the previous record \\(compiled from ${w.p[0]}`));
  t.regex(run.stdout, /rollback rc=1/);
  t.regex(run.stderr, new RegExp(`the previous policy \\(compiled from ${w.p[0]}.*\\) is already live`));
  t.regex(run.stdout, /after refused rollback: p0/);
});

nsTest(nsTitle('an unwritable state directory is found before the batch: nothing is sent (defect 5)'), (t) => {
  const w = workspace();
  const opts = `--no-lsm --state-dir ${w.state}`;
  const run = inFreshNamespace(
    [
      `${CLI()} apply ${w.p[0]} ${opts} 2>/dev/null || exit 9`,
      `unshare -m sh -c 'mount --bind ${w.state} ${w.state} && mount -o remount,bind,ro ${w.state} && ${CLI()} apply ${w.p[1]} ${opts}; echo "ro rc=$?"'`,
      whichLive(w, 'after read-only'),
    ].join('\n'),
  );
  t.regex(run.stdout, /ro rc=1/, run.stderr);
  t.regex(run.stderr, /read-only file system.*nothing was sent to the kernel/i);
  t.regex(run.stdout, /after read-only: p0/);
});

nsTest(nsTitle('a damaged current record with --on-invalid keep: says so, and does not claim that nothing changed (defect 5)'), (t) => {
  const w = workspace();
  const opts = `--no-lsm --state-dir ${w.state}`;
  const run = inFreshNamespace(
    [
      `${CLI()} apply ${w.p[0]} ${opts} 2>/dev/null || exit 9`,
      `for f in ${w.state}/*.json; do grep -q '"ruleset"' $f && head -c 3000 $f > $f.cut && cat $f.cut > $f && rm $f.cut; done`,
      `${CLI()} apply ${w.bad} --on-invalid keep ${opts}; echo "keep rc=$?"`,
      whichLive(w, 'after keep'),
    ].join('\n'),
  );
  t.regex(run.stdout, /keep rc=2/, run.stderr);
  t.notRegex(run.stderr, /nothing was changed/i);
  t.regex(run.stderr, /is corrupt/);
  t.regex(run.stderr, /LOCKDOWN/);
});

nsTest(nsTitle('records forged by another user in a world-writable state directory are refused (defect 4)'), (t) => {
  const w = workspace();
  const opts = `--no-lsm --state-dir ${w.state}`;
  const run = inFreshNamespace(
    [
      `${CLI()} apply ${w.p[0]} ${opts} 2>/dev/null || exit 9`,
      // The "attacker" made p1's records elsewhere and puts them in place, owned by nobody.
      `unshare -n ${CLI()} apply ${w.p[1]} --no-lsm --state-dir ${w.dir}/forged 2>/dev/null || exit 9`,
      `chmod 777 ${w.state} && cp ${w.dir}/forged/*.json ${w.state}/ && chown 65534:65534 ${w.state}/*.json`,
      `${CLI()} apply ${w.bad} --on-invalid keep ${opts}; echo "keep rc=$?"`,
      whichLive(w, 'after keep'),
    ].join('\n'),
  );
  t.regex(run.stdout, /keep rc=2/, run.stderr);
  t.notRegex(run.stdout, /after keep: p1/, 'the forged policy was not loaded');
  t.regex(run.stderr, /writable by others|owned by uid 65534/);
});

nsTest(nsTitle('concurrent appliers and a third-party nft writer: the last one wins and the record says so (defect 3)'), (t) => {
  const w = workspace();
  const opts = `--no-lsm --state-dir ${w.state}`;
  const rounds = 3;
  const lines = [`${CLI()} apply ${w.p[4]} ${opts} 2>/dev/null || exit 9`];
  for (let round = 0; round < rounds; round++) {
    lines.push(
      `( for i in $(seq 40); do ${NFT} add table ip third; ${NFT} delete table ip third; done ) & writer=$!`,
      ...[0, 1, 2, 3].map((i) => `${CLI()} apply ${w.p[i]} ${opts} 2>>${w.dir}/err${round} & a${i}=$!`),
      `for p in $a0 $a1 $a2 $a3; do wait $p; echo "round ${round} rc=$?"; done; wait $writer`,
      `${CLI()} status ${opts} > ${w.dir}/status${round}; echo "round ${round} status rc=$?"`,
      whichLive(w, `round ${round} live`),
    );
  }
  const run = inFreshNamespace(lines.join('\n'));
  t.is(run.status, 0, run.stderr);
  for (let round = 0; round < rounds; round++) {
    t.is(run.stdout.match(new RegExp(`round ${round} rc=0`, 'g'))?.length, 4, run.stdout);
    t.regex(run.stdout, new RegExp(`round ${round} status rc=0`));
    const live = new RegExp(`round ${round} live: p(\\d)`).exec(run.stdout)?.[1];
    const status = readFileSync(join(w.dir, `status${round}`), 'utf8');
    t.regex(status, new RegExp(`record: the live table is the current record \\(compiled from ${w.p[Number(live)]}`), `round ${round}`);
  }
  t.log(`${rounds} rounds of 4 concurrent applies with an nft writer: kernel, record and status agree after each`);
});
