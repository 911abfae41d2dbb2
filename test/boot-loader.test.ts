// native/secmarkc-boot, the fast boot path, against the real kernel in private network namespaces,
// with --no-lsm records (the host has no SELinux): it loads exactly what apply loaded, with a fresh
// generation id, and on each doubt (policy edited, boot file tampered with or untrusted, index
// changed by another writer, lock held, SELinux policy file changed, kernel refusal) runs its
// fallback command instead: a marker command, or the real apply. Built from source for the test
// (native/build-boot.mjs), so it tests this tree's loader.

import test from 'ava';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePolicy } from '../bench/generate.js';
// @ts-expect-error: a plain ESM script without types
import { buildBootLoader } from '../native/build-boot.mjs';
import { ROOT } from './helpers/cli.js';
import { buildFastCli, type FastCli } from './helpers/fast-cli.js';
import { inFreshNamespace, NFT, namespaceSkipReason, nsTitle } from './helpers/namespace.js';

const TABLE = 'secmarkc';
const policyText = (entries: number): string => generatePolicy(entries).replace('table: secmarkc_bench', `table: ${TABLE}`);

let cli: FastCli | undefined;
let loader = '';
let buildFailure: string | undefined;
const loaderDir = mkdtempSync(join(tmpdir(), 'secmarkc-boot-build-'));

test.before(async () => {
  if (namespaceSkipReason) return;
  buildFailure = buildBootLoader(loaderDir) as string | undefined;
  loader = join(loaderDir, 'bin', 'secmarkc-boot');
  cli = await buildFastCli();
});
test.after.always(() => {
  cli?.remove();
  rmSync(loaderDir, { recursive: true, force: true });
});

const bootTest = namespaceSkipReason ? test.skip : test;

/** A policy file and an empty state directory of the test's own. */
function setup(entries = 10): { dir: string; policy: string; state: string; boot: string } {
  const dir = mkdtempSync(join(tmpdir(), 'secmarkc-boot-'));
  const policy = join(dir, 'policy.yaml');
  writeFileSync(policy, policyText(entries));
  const state = join(dir, 'state');
  return { dir, policy, state, boot: join(state, `${TABLE}.boot`) };
}

/** The marker fallback: proves it ran (exit 7). */
const MARKER = `/bin/sh -c 'echo FALLBACK-RAN; exit 7'`;

function commands(s: { policy: string; state: string }) {
  const apply = `${cli!.command} apply --no-lsm --state-dir ${s.state} ${s.policy}`;
  return {
    apply: `${apply} >/dev/null`,
    boot: (fallback = MARKER, extra = '--no-lsm') => `${loader} ${extra} --state-dir ${s.state} ${s.policy} -- ${fallback}`,
    fullApply: apply,
  };
}

/** Run `script` in a fresh namespace; a failed build is a failure, not a skip. */
function run(t: { fail: (m: string) => void }, script: string) {
  if (buildFailure) t.fail(`the loader did not build: ${buildFailure}`);
  return inFreshNamespace(`set -e\n${script}`);
}

/** A header line's value. */
const header = (boot: string, key: string): string => new RegExp(`^${key} (.*)$`, 'm').exec(readFileSync(boot, 'latin1'))?.[1] ?? '';

/** Rewrite the boot file with `edit` applied to its bytes (mode and owner kept: it stays trusted). */
function editBoot(boot: string, edit: (bytes: Buffer) => Buffer): void {
  const mode = statSync(boot).mode & 0o777;
  writeFileSync(boot, edit(readFileSync(boot)));
  chmodSync(boot, mode);
}

/** The history's entries once it has `count` lines (waiting up to 30 s for the loader's background child). */
function historyAfter(path: string, count: number): { event: string; digest: string }[] {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    if (lines.length >= count || Date.now() > deadline) return lines.map((l) => JSON.parse(l) as { event: string; digest: string });
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
  }
}

bootTest(nsTitle('secmarkc-boot passes its SHA-256 self-test (FIPS 180-2 vectors)'), (t) => {
  const r = run(t, `${loader} --self-test`);
  t.is(r.status, 0, r.stdout + r.stderr);
  t.is(r.stdout.split('\n').filter((l) => l.startsWith('ok ')).length, 4, r.stdout);
});

bootTest(nsTitle('the fast path loads exactly the table apply loaded, records a boot line, and status says the live table is the record'), (t) => {
  const s = setup();
  const c = commands(s);
  const r = run(
    t,
    `${c.apply}
    ${NFT} list table inet ${TABLE} > ${s.dir}/applied.txt
    ${NFT} delete table inet ${TABLE}
    ${c.boot()}
    ${NFT} list table inet ${TABLE} > ${s.dir}/booted.txt
    ${cli!.command} status --no-lsm --state-dir ${s.state} 2>&1`,
  );
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, new RegExp(`^secmarkc: loaded table inet ${TABLE} from the record applied at \\S+ \\(\\d+ bytes, generation \\d+\\) without compiling$`, 'm'));
  t.notRegex(r.stdout, /FALLBACK-RAN/);
  const applied = readFileSync(join(s.dir, 'applied.txt'), 'utf8');
  t.true(applied.includes('map connect4_exact'), applied);
  t.is(readFileSync(join(s.dir, 'booted.txt'), 'utf8'), applied, 'nft lists the same table');
  t.regex(r.stdout, /^record: the live table is the current record \(compiled from /m, 'status: the live table is the recorded policy');
  // The boot line is written by the loader's background child once the socket is closed: waited for.
  const history = historyAfter(join(s.state, `${TABLE}.history`), 2);
  t.deepEqual(history.map((h) => h.event), ['apply', 'boot']);
  t.is(history[1]!.digest, history[0]!.digest);
});

bootTest(nsTitle('each load carries the current generation id: booting twice after apply loads twice, at growing generations'), (t) => {
  const s = setup();
  const c = commands(s);
  const r = run(t, `${c.apply}\n${c.boot()}\n${c.boot()}`);
  t.is(r.status, 0, r.stderr + r.stdout);
  const generations = [...r.stdout.matchAll(/generation (\d+)\) without compiling/g)].map((m) => Number(m[1]));
  t.is(generations.length, 2, r.stdout);
  t.true(generations[1]! > generations[0]!, `${generations.join(' then ')}`);
  t.true(generations[0]! > 1, 'not the generation apply sent its batch at');
});

bootTest(nsTitle('a policy edited since the apply takes the full apply: the marker fallback, and the real node apply loads the new policy'), (t) => {
  const s = setup(10);
  const c = commands(s);
  const first = run(t, `${c.apply}\nprintf '# edited\\n' >> ${s.policy}\n${c.boot()} || echo "status $?"`);
  t.regex(first.stdout, /FALLBACK-RAN\nstatus 7/);
  t.regex(first.stderr, /the policy .*policy\.yaml changed since it was applied: running the full apply/);

  const s2 = setup(10);
  const c2 = commands(s2);
  const real = run(t, `${c2.apply}\ncp ${setup(20).policy} ${s2.policy}\n${c2.boot(c2.fullApply)}\n${NFT} list map inet ${TABLE} connect4_exact`);
  t.is(real.status, 0, real.stderr);
  t.regex(real.stdout, /^applied table inet secmarkc: /m, 'node applied');
  t.notRegex(real.stdout, /without compiling/);
  t.regex(real.stdout, /192\.0\.2\.1 \. 6 : "app1_client"|192\.0\.2\.1 \. tcp/, 'the edited policy (20 entries) is live');
});

bootTest(nsTitle('a missing policy file, another policy path, or a --no-lsm mismatch falls back'), (t) => {
  const s = setup();
  const c = commands(s);
  const r = run(
    t,
    `${c.apply}
    cp ${s.policy} ${s.dir}/other.yaml
    ${loader} --no-lsm --state-dir ${s.state} ${s.dir}/other.yaml -- ${MARKER} || true
    ${c.boot(MARKER, '')} || true
    rm ${s.policy}
    ${c.boot()} || true`,
  );
  t.is(r.stdout.match(/FALLBACK-RAN/g)?.length, 3, r.stdout + r.stderr);
  t.regex(r.stderr, /the record is of .*policy\.yaml, not .*other\.yaml/);
  t.regex(r.stderr, /the record is counter, not secmark/);
  t.regex(r.stderr, /the policy .* does not exist/);
});

bootTest(nsTitle('a boot file with one byte of its batch changed, or untrusted, or a symlink, falls back'), (t) => {
  const s = setup();
  const c = commands(s);
  const r = run(t, `${c.apply}\ncp -p ${s.boot} ${s.dir}/boot.good`);
  t.is(r.status, 0, r.stderr);
  editBoot(s.boot, (b) => {
    b[b.length - 5] = b[b.length - 5]! ^ 0x01;
    return b;
  });
  const tampered = run(t, `${c.boot()} || true`);
  t.regex(tampered.stdout, /FALLBACK-RAN/);
  t.regex(tampered.stderr, /the batch does not match its sha256/);

  const writable = run(t, `cp -p ${s.dir}/boot.good ${s.boot}; chmod 666 ${s.boot}\n${c.boot()} || true`);
  t.regex(writable.stderr, /is writable by others: running the full apply/);
  const link = run(t, `rm ${s.boot}; ln -s ${s.dir}/boot.good ${s.boot}\n${c.boot()} || true`);
  t.regex(link.stderr, /secmarkc\.boot: Too many levels of symbolic links|symbolic/);
  t.is((writable.stdout + link.stdout).match(/FALLBACK-RAN/g)?.length, 2);
});

bootTest(nsTitle('an index changed by another writer (a later apply, remove) falls back, even with the old boot file put back'), (t) => {
  const s = setup();
  const c = commands(s);
  const r = run(
    t,
    `${c.apply}
    cp -p ${s.boot} ${s.dir}/boot.old
    ${c.apply}
    cp -p ${s.dir}/boot.old ${s.boot}
    ${c.boot()} || true
    ${cli!.command} remove --no-lsm --state-dir ${s.state} >/dev/null
    test ! -e ${s.boot} && echo REMOVED-BOOT-FILE
    cp -p ${s.dir}/boot.old ${s.boot}
    ${c.boot()} || true`,
  );
  t.is(r.stdout.match(/FALLBACK-RAN/g)?.length, 2, r.stdout + r.stderr);
  t.regex(r.stdout, /REMOVED-BOOT-FILE/, 'remove deletes the boot file');
  t.is(r.stderr.match(/state\.json changed since the boot file was written/g)?.length, 2, r.stderr);
});

bootTest(nsTitle('the table lock held by another writer: falls back (the full apply waits for it)'), (t) => {
  const s = setup();
  const c = commands(s);
  const r = run(t, `${c.apply}\nflock ${s.state}/${TABLE}.lock ${c.boot()} || true`);
  t.regex(r.stdout, /FALLBACK-RAN/);
  t.regex(r.stderr, /another secmarkc holds .*secmarkc\.lock/);
});

bootTest(nsTitle('a SELinux policy file that no longer stats as recorded falls back; one that does loads'), (t) => {
  const s = setup();
  const c = commands(s);
  t.is(run(t, c.apply).status, 0);
  // The identity pointed at a file of the test's own, as apply records /etc/selinux/<type>/policy/policy.N.
  const fake = join(s.dir, 'policy.33');
  writeFileSync(fake, 'binary policy');
  const st = statSync(fake, { bigint: true });
  const line = `selinux-policy ${st.dev} ${st.ino} ${st.size} ${st.mtimeNs} ${st.ctimeNs} ${fake}`;
  editBoot(s.boot, (b) => Buffer.from(b.toString('latin1').replace('selinux-policy none', line), 'latin1'));
  const same = run(t, `${c.boot()} || true`);
  t.regex(same.stdout, /without compiling/, same.stderr);
  writeFileSync(fake, 'binary policy, rebuilt by semodule');
  const changed = run(t, `${c.boot()} || true`);
  t.regex(changed.stdout, /FALLBACK-RAN/);
  t.regex(changed.stderr, /the SELinux policy .*policy\.33 changed since the exclusivity audit/);
});

bootTest(nsTitle('a batch the kernel refuses (its sha256 fixed up) falls back, and the live table is left as it was'), (t) => {
  const s = setup();
  const c = commands(s);
  t.is(run(t, `${c.apply}\ncp -p ${s.boot} ${s.dir}/boot.good`).status, 0);
  const start = readFileSync(s.boot).indexOf('\n\n') + 2;
  const begin = readFileSync(s.boot).readUInt32LE(start); // BATCH_BEGIN's nlmsg_len: the first NEWTABLE follows
  editBoot(s.boot, (b) => {
    b[start + begin + 16] = 99; // its nfgen_family: no such family
    const sha = createHash('sha256').update(b.subarray(start)).digest('hex');
    return Buffer.from(b.toString('latin1').replace(/^batch-sha256 .*$/m, `batch-sha256 ${sha}`), 'latin1');
  });
  t.is(header(s.boot, 'batch-sha256').length, 64);
  // In one namespace: the good boot file loads the table, the refused one leaves it.
  const r = run(t, `cp -p ${s.boot} ${s.dir}/boot.bad\ncp -p ${s.dir}/boot.good ${s.boot}\n${c.boot()}\ncp -p ${s.dir}/boot.bad ${s.boot}\n${c.boot()} || true\n${NFT} list table inet ${TABLE} | grep -c 'map connect4_exact'`);
  t.regex(r.stdout, /without compiling/);
  t.regex(r.stdout, /FALLBACK-RAN/);
  t.regex(r.stderr, /the kernel refused the recorded batch \(/);
  t.regex(r.stdout, /^1$/m, 'the table apply loaded is still there');
});

bootTest(nsTitle('apply with an option the unit does not use (--ports-from) leaves no boot file, and removes the one before'), (t) => {
  const fixture = join(ROOT, 'test/fixtures/valid/ports-policy');
  const s = setup();
  const c = commands(s);
  const r = run(
    t,
    `${c.apply}\ntest -e ${s.boot} && echo HAD-BOOT-FILE\n` +
      `${cli!.command} apply --no-lsm --ports-from ${fixture}/ports.json --state-dir ${s.state} ${fixture}/policy.yaml\n` +
      `test -e ${s.boot} && echo HAS-BOOT-FILE || echo NO-BOOT-FILE`,
  );
  t.regex(r.stdout, /applied table inet secmarkc/, r.stderr);
  t.regex(r.stdout, /HAD-BOOT-FILE[^]*NO-BOOT-FILE/);
});
