// `ports` and `explain` as a user runs them: --ports-from, --json round trips, usage errors and
// missing setools. The answers themselves are unit-tested (explain.test.ts) and VM-tested (09).

import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePortTableJson } from '../src/port-labels/port-table-json.js';
import { ROOT, runCli, runCliWithout } from './helpers/cli.js';

const DIR = 'test/fixtures/valid/ports-policy';
const POLICY = `${DIR}/policy.yaml`;
const PORTS = `${DIR}/ports.json`;
const setoolsInstalled = ['/usr/bin/seinfo', '/usr/sbin/seinfo', '/usr/bin/sesearch'].some(existsSync);

test('ports --ports-from: the table as text, and --json that reads back as the same table', (t) => {
  const text = runCli(['ports', '--ports-from', PORTS]);
  t.is(text.status, 0, text.stderr);
  t.regex(text.stdout, /^tcp +80 +http_port_t +http_client_packet_t +http_server_packet_t$/m);
  t.regex(text.stdout, /^unreserved_port_t: no unreserved_client_packet_t/m);
  const json = runCli(['ports', '--ports-from', PORTS, '--json']);
  t.is(json.status, 0, json.stderr);
  t.deepEqual(parsePortTableJson(json.stdout, 'out.json'), parsePortTableJson(readFileSync(join(ROOT, PORTS), 'utf8'), PORTS));
});

test('compile --ports-from compiles ports: policy; a bad port file is a runtime error naming the field', (t) => {
  const ok = runCli(['compile', POLICY, '--ports-from', PORTS, '-f', 'nft']);
  t.is(ok.status, 0, ok.stderr);
  t.regex(ok.stdout, /map port_client \{/);
  const bad = runCli(['check', POLICY, '--ports-from', join(ROOT, 'package.json')]);
  t.is(bad.status, 1);
  t.regex(bad.stderr, /"ports: policy": .*package\.json: format: expected "secmarkc-ports\/1"/);
});

// Where setools is installed, it is hidden from the CLI in a private mount namespace (root).
const SETOOLS = ['/usr/bin/seinfo', '/usr/sbin/seinfo', '/usr/bin/sesearch', '/usr/sbin/sesearch', '/bin/seinfo', '/bin/sesearch'];
const canHide = process.getuid?.() === 0;
(setoolsInstalled && !canHide ? test.skip : test)('without setools, ports: policy and explain say which package to install (exit 1)', (t) => {
  if (setoolsInstalled && !canHide) t.log('skipped: setools is installed and only root can hide it');
  for (const args of [['compile', POLICY], ['ports'], ['explain', 'smc_a_t', '--policy', POLICY, '--ports-from', PORTS], ['explain', '--users-of', 'a', '--policy', POLICY, '--ports-from', PORTS]]) {
    const r = setoolsInstalled ? runCliWithout(SETOOLS, args) : runCli(args);
    t.is(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
    t.regex(r.stderr, /(seinfo|sesearch) not found on PATH: install it \(Debian\/Ubuntu: apt-get install setools; Fedora: dnf install setools-console\)/);
  }
});

test('explain: a bad domain or endpoint is a usage error (exit 2) before any tool runs', (t) => {
  const domain = runCli(['explain', 'x) (allow', '--policy', POLICY]);
  t.is(domain.status, 2);
  t.regex(domain.stderr, /domain "x\) \(allow" is not a valid SELinux type name/);
  const peer = runCli(['explain', 'smc_a_t', '--policy', POLICY, '--connect', '2001:db8::1:443/tcp']);
  t.is(peer.status, 2);
  t.regex(peer.stderr, /--connect "2001:db8::1:443\/tcp": /);
  const help = runCli(['explain', '--help']);
  t.regex(help.stdout, /Exit codes: 0 all allowed .* 4 at least one refused/s);
});
