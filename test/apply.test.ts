// apply / status / remove against the real kernel, in private network namespaces. Counter
// objects stand in for secmark objects (--no-lsm): the host kernel has no SELinux. The secmark
// version itself is what the host refuses, which is how we test a refused batch.

import test from 'ava';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compilePolicy } from '../src/compile/compile.js';
import { withCounterObjects } from '../src/compile/substitute.js';
import { nftJsonObjects } from '../src/emit/nft-json.js';
import { generatePolicy } from '../bench/generate.js';
import { inFreshNamespace, normaliseNftJson, NFT, nsTest, nsTitle } from './helpers/namespace.js';
import { ROOT } from './helpers/cli.js';

const ENTRY = fileURLToPath(new URL('./helpers/cli-entry.ts', import.meta.url));
const CLI = `${process.execPath} --import=tsx ${ENTRY}`;
const EXAMPLE = join(ROOT, 'examples/browser-proxy.yaml');

type Json = Record<string, unknown>;

function listed(stdout: string): Json[] {
  return (JSON.parse(stdout) as { nftables: Json[] }).nftables;
}


function tempPolicy(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'secmarkc-apply-')), 'policy.yaml');
  writeFileSync(path, text);
  return path;
}

nsTest(nsTitle('apply loads exactly what nft lists for our JSON; status then reports no drift'), (t) => {
  const run = inFreshNamespace(`cd ${ROOT} && ${CLI} apply ${EXAMPLE} --no-lsm --state-dir ${privateState()} >&2 && ${NFT} -j list ruleset && ${CLI} status ${EXAMPLE} --no-lsm >&2`);
  t.is(run.status, 0, run.stderr);
  const compiled = compilePolicy(readFileSync(EXAMPLE, 'utf8'), EXAMPLE);
  if (!compiled.ok) return t.fail();
  t.deepEqual(normaliseNftJson(listed(run.stdout)), normaliseNftJson(nftJsonObjects(withCounterObjects(compiled.compiled.ruleset))));
  t.regex(run.stderr, /no drift: the live table is what the policy compiles to/);
});

const PORTS_FIXTURE = join(ROOT, 'test/fixtures/valid/ports-policy');

nsTest(nsTitle('ports: policy with --ports-from: apply, then status reads the port maps back without drift; a changed port label is drift'), (t) => {
  const policy = join(PORTS_FIXTURE, 'policy.yaml');
  const ports = join(PORTS_FIXTURE, 'ports.json');
  const run = inFreshNamespace(
    `${CLI} apply ${policy} --no-lsm --ports-from ${ports} --state-dir ${privateState()} >&2 && ${CLI} status ${policy} --no-lsm --ports-from ${ports} --json && ` +
      `${NFT} delete element inet secmarkc port_client '{ tcp . 80 }' && ${NFT} add element inet secmarkc port_client '{ tcp . 80 : "client_packet_t" }' && ` +
      `${CLI} status ${policy} --no-lsm --ports-from ${ports} --json`,
  );
  t.is(run.status, 3, run.stderr);
  const [clean, drifted] = run.stdout.split(/\n(?=\{)/).map((s) => JSON.parse(s) as { drift: { kind: string; what: string }[]; maps: { name: string; elements: number }[] });
  t.deepEqual(clean?.drift, []);
  t.deepEqual(clean?.maps.filter((m) => m.name.startsWith('port_')), [{ name: 'port_client', elements: 5 }, { name: 'port_server', elements: 5 }]);
  t.deepEqual(drifted?.drift, [{ kind: 'different', what: 'map port_client element tcp . 80: expected "http_client_packet_t", found "client_packet_t"' }]);
});

nsTest(nsTitle('status reports elements added behind our back, to the exact and to an interval map, as drift, exit 3'), (t) => {
  const run = inFreshNamespace(
    `${CLI} apply ${EXAMPLE} --no-lsm --state-dir ${privateState()} >&2 && ${NFT} add element inet secmarkc connect4_exact '{ 203.0.113.1 . tcp . 80 : "browser_client" }' && ` +
      `${NFT} add element inet secmarkc serve4 '{ 203.0.113.0/28 . udp . 1000-1999 : "ssh_server" }' && ${CLI} status ${EXAMPLE} --no-lsm --json`,
  );
  t.is(run.status, 3, run.stderr);
  const status = JSON.parse(run.stdout) as { drift: { kind: string; what: string }[] };
  t.deepEqual(
    [...status.drift].sort((a, b) => a.what.localeCompare(b.what)),
    [
      { kind: 'extra', what: 'map connect4_exact element 203.0.113.1 . tcp . 80' },
      { kind: 'extra', what: 'map serve4 element 203.0.113.0/28 . udp . 1000-1999' },
    ],
  );
});

nsTest(nsTitle('a refused batch names the policy line and leaves the previous table and records exactly as they were'), (t) => {
  // First a good (counter) version, then the secmark version, which this kernel refuses (no LSM).
  // Its record is written beside the current one while the kernel works: it must be gone after.
  const state = mkdtempSync(join(tmpdir(), 'secmarkc-apply-state-'));
  const run = inFreshNamespace(
    `${CLI} apply ${EXAMPLE} --no-lsm --state-dir ${state} >&2 && ${NFT} -j list ruleset > /tmp/before.$$ && cp ${state}/secmarkc.record.1.json /tmp/record.$$ && ` +
      `{ ${CLI} apply ${EXAMPLE} --no-module --state-dir ${state}; echo "rc=$?" >&2; } ; ${NFT} -j list ruleset | cmp -s - /tmp/before.$$ && echo unchanged; ` +
      `cmp -s ${state}/secmarkc.record.1.json /tmp/record.$$ && echo record unchanged; ls -A ${state}; rm -f /tmp/before.$$ /tmp/record.$$`,
  );
  t.regex(run.stderr, /rc=1/);
  // Every line pinned: each refused secmark object at the rule that makes its label (browser's
  // `connect` item at 13:9, ssh's `serve` item at 18:9), neighbour discovery's generated one
  // without a position; the elements and rules refused only because their object was are folded.
  const refused = run.stderr.split('\n').filter((l) => l.startsWith(EXAMPLE) || l.startsWith('secmarkc: the kernel'));
  const secmarkNote = 'note: the kernel takes a secmark object only with SELinux enabled and the packet type in the loaded policy (the CIL module, at this "level"), created by a domain that may relabelto it ("loader")';
  t.deepEqual(refused, [
    `${EXAMPLE}:13:9: error SMC100: the kernel refused secmark "browser_client" (system_u:object_r:secmarkc_browser_client_packet_t:s0): No such file or directory (ENOENT); refused with it: 2 map elements`,
    `${EXAMPLE}:13:9: ${secmarkNote}`,
    `${EXAMPLE}:18:9: error SMC100: the kernel refused secmark "ssh_server" (system_u:object_r:secmarkc_ssh_server_packet_t:s0): No such file or directory (ENOENT); refused with it: 2 map elements`,
    `${EXAMPLE}: error SMC100: the kernel refused secmark "ndp" (system_u:object_r:secmarkc_ndp_packet_t:s0): No such file or directory (ENOENT); refused with it: 2 rules ("neighbour_discovery" is not written: the default is kernel_t)`,
    'secmarkc: the kernel refused the batch; the previous ruleset is unchanged',
  ]);
  t.deepEqual(run.stdout.trim().split('\n'), ['unchanged', 'record unchanged', 'secmarkc.history', 'secmarkc.lock', 'secmarkc.record.1.json', 'secmarkc.state.json']);
  // The index names the same record, live, and nothing pending (only its file counter moved on).
  t.like(JSON.parse(readFileSync(join(state, 'secmarkc.state.json'), 'utf8')), { current: { file: 'secmarkc.record.1.json' }, previous: null, live: 'current', pending: null });
});

nsTest(nsTitle('remove deletes our table only; other tables stay'), (t) => {
  const run = inFreshNamespace(
    `S=${privateState()}; ${NFT} add table ip other && ${NFT} add chain ip other c && ${CLI} apply ${EXAMPLE} --no-lsm --state-dir $S >&2 && ${CLI} remove --no-lsm --state-dir $S >&2 && ${CLI} remove --no-lsm --state-dir $S >&2 && ${NFT} list ruleset`,
  );
  t.is(run.status, 0, run.stderr);
  t.regex(run.stdout, /table ip other/);
  t.notRegex(run.stdout, /secmarkc/);
});

nsTest(nsTitle('apply retries when another writer changes the ruleset, and ends in the right state'), (t) => {
  // A writer adds and deletes a foreign table as fast as it can while we apply ten times.
  const script = [
    `( i=0; while [ $i -lt 4000 ]; do ${NFT} add table ip noise$((i % 3)) 2>/dev/null; ${NFT} delete table ip noise$((i % 3)) 2>/dev/null; i=$((i+1)); done ) & writer=$!`,
    `ok=0; for n in 1 2 3 4 5 6 7 8 9 10; do ${CLI} apply ${EXAMPLE} --no-lsm --retries 50 --state-dir ${privateState()} && ok=$((ok+1)); done`,
    'kill $writer 2>/dev/null; wait $writer 2>/dev/null',
    `echo "ok=$ok"; ${CLI} status ${EXAMPLE} --no-lsm`,
  ].join('\n');
  const run = inFreshNamespace(script);
  t.regex(run.stdout, /ok=10/, run.stderr);
  t.regex(run.stdout, /no drift/);
});

nsTest(nsTitle('100,000 map elements apply in one batch and read back complete'), (t) => {
  const policy = tempPolicy(generatePolicy(100_000));
  const run = inFreshNamespace(`${CLI} apply ${policy} --no-lsm --state-dir ${privateState()} >&2 && ${CLI} status ${policy} --no-lsm --json`);
  t.is(run.status, 0, run.stderr.slice(-2000));
  const status = JSON.parse(run.stdout) as { maps: { name: string; elements: number }[]; drift: unknown[] };
  // Every generated entry is one address and one port: all in the exact (hash) map.
  t.deepEqual(status.maps, [{ name: 'connect4_exact', elements: 100_000 }]);
  t.deepEqual(status.drift, []);
});

nsTest(nsTitle('status of 100,000 elements: the current record is live; then one element deleted, one changed and one added behind our back are named'), (t) => {
  const policy = tempPolicy(generatePolicy(100_000));
  const state = privateState();
  const status = (args: string) => `${CLI} status ${args} --no-lsm --state-dir ${state} --json; echo "rc=$?"; echo ---`;
  const element = `inet secmarkc_bench connect4_exact`;
  const run = inFreshNamespace(
    [
      `${CLI} apply ${policy} --no-lsm --state-dir ${state} >&2 || exit 9`,
      status('-t secmarkc_bench'),
      // In the generated policy 192.0.2.0-9 . tcp . 1-10 are app0's; no entry is udp.
      `${NFT} delete element ${element} '{ 192.0.2.0 . tcp . 1 }' && ${NFT} delete element ${element} '{ 192.0.2.1 . tcp . 2 }' || exit 9`,
      `${NFT} add element ${element} '{ 192.0.2.1 . tcp . 2 : "app1_client", 192.0.2.250 . udp . 9 : "app2_client" }' || exit 9`,
      status('-t secmarkc_bench'),
      status(policy),
    ].join('\n'),
  );
  t.is(run.status, 0, run.stderr.slice(-2000));
  type Status = { maps: { name: string; elements: number }[]; record: { live: string; consistent?: boolean; text: string }; drift?: { kind: string; what: string }[] };
  const [clean, changed, drifted] = run.stdout.split('---\n').filter(Boolean).map((part) => {
    const rc = /rc=(\d+)\n$/.exec(part)?.[1];
    return { rc: Number(rc), status: JSON.parse(part.slice(0, part.lastIndexOf('rc='))) as Status };
  });
  t.is(clean?.rc, 0);
  t.deepEqual(clean?.status.maps, [{ name: 'connect4_exact', elements: 100_000 }]);
  t.like(clean?.status.record, { live: 'current', consistent: true });
  // Without POLICY: the records no longer tell the truth.
  t.is(changed?.rc, 3);
  t.deepEqual(changed?.status.maps, [{ name: 'connect4_exact', elements: 100_000 }]);
  t.like(changed?.status.record, { live: 'unknown', consistent: false });
  t.regex(changed?.status.record.text ?? '', /^MISMATCH: the records say the live table is the current record .* but the live table is a table inet secmarkc_bench that matches no record$/);
  // With POLICY: exactly what changed, by name, missing and different in the policy's order, then extra.
  t.is(drifted?.rc, 3);
  t.deepEqual(drifted?.status.drift, [
    { kind: 'missing', what: 'map connect4_exact element 192.0.2.0 . tcp . 1' },
    { kind: 'different', what: 'map connect4_exact element 192.0.2.1 . tcp . 2: expected "app0_client", found "app1_client"' },
    { kind: 'extra', what: 'map connect4_exact element 192.0.2.250 . udp . 9' },
  ]);
});

/** A fresh state directory, so that tests neither share records nor write the host's /var/lib/secmarkc. */
function privateState(): string {
  return mkdtempSync(join(tmpdir(), 'secmarkc-apply-state-'));
}

/** The unprivileged run needs to read the checkout (a clone under a private home cannot be). */
const nobodyCannotRead =
  spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'sh', '-c', `test -r ${ENTRY} && test -r ${EXAMPLE}`]).status !== 0;
const unprivilegedTitle = 'without CAP_NET_ADMIN apply fails with a clear message, exit 1, no stack trace';

(nobodyCannotRead ? test.skip : nsTest)(nobodyCannotRead ? `${unprivilegedTitle} [skipped: user nobody cannot read this checkout]` : nsTitle(unprivilegedTitle), (t) => {
  // An unprivileged user in a private namespace: the kernel refuses nf_tables requests with EPERM.
  // Its own state directory (records are trusted from root or the user running secmarkc).
  const parent = mkdtempSync(join(tmpdir(), 'secmarkc-nobody-'));
  chmodSync(parent, 0o755);
  const state = join(parent, 'state');
  mkdirSync(state, { mode: 0o700 });
  chownSync(state, 65534, 65534);
  const run = inFreshNamespace(`setpriv --reuid=65534 --regid=65534 --clear-groups ${CLI} apply ${EXAMPLE} --no-lsm --state-dir ${state}; echo "rc=$?"`);
  t.regex(run.stdout, /rc=1/, run.stderr);
  t.regex(run.stderr, /^secmarkc: .*Operation not permitted \(EPERM\).*CAP_NET_ADMIN \(run as root\)$/m);
  t.notRegex(run.stderr, /\s+at /);
});
