// Offline review (issue 15 item 5): `ports`, `explain` (DOMAIN, --connect/--accept, --users-of) and
// `check`'s exclusivity audit against a binary policy file (--selinux-policy), on a host with no
// loaded SELinux policy: /sys/fs/selinux is absent here, or hidden under an empty tmpfs in a
// private mount namespace. Needs Debian's selinux-policy-default (policy.33) and setools.

import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parsePortTableJson } from '../src/port-labels/port-table-json.js';
import { LOADED_POLICY } from '../src/selinux/packet-users.js';
import { ROOT, type CliResult } from './helpers/cli.js';

const POLICY_FILE = '/etc/selinux/default/policy/policy.33';
const ENTRY = fileURLToPath(new URL('./helpers/cli-entry.ts', import.meta.url));
const PORTS_POLICY = 'test/fixtures/valid/ports-policy/policy.yaml';
const missing = [
  ...(existsSync(POLICY_FILE) ? [] : [`${POLICY_FILE} (Debian package selinux-policy-default)`]),
  ...(['/usr/bin/seinfo', '/usr/bin/sesearch'].every(existsSync) ? [] : ['seinfo and sesearch (Debian package setools)']),
  ...(existsSync(LOADED_POLICY) && process.getuid?.() !== 0 ? ['root, to hide the loaded policy'] : []),
];

/** The CLI with no loaded SELinux policy in sight, whatever the host has. */
function runOffline(args: readonly string[]): CliResult {
  const hide = existsSync('/sys/fs/selinux') ? 'mount -t tmpfs none /sys/fs/selinux || exit 99; ' : '';
  const script = `${hide}[ -e ${LOADED_POLICY} ] && exit 98; exec "$0" "$@"`;
  const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script, process.execPath, '--import=tsx', ENTRY, ...args], { cwd: ROOT, encoding: 'utf8' });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const offline = missing.length > 0 ? test.skip : test;
if (missing.length > 0) {
  test('offline review', (t) => {
    t.log(`skipped: needs ${missing.join(', ')}`);
    t.pass();
  });
}

offline('ports --selinux-policy: the port labels of a policy file, as text and as JSON that --ports-from reads', (t) => {
  const text = runOffline(['ports', '--selinux-policy', POLICY_FILE]);
  t.is(text.status, 0, text.stderr);
  t.regex(text.stdout, new RegExp(`^# port labels from seinfo \\(${POLICY_FILE}\\)`));
  t.regex(text.stdout, /^tcp +80 +http_port_t +http_client_packet_t +http_server_packet_t$/m);
  t.regex(text.stdout, /^tcp +22 +ssh_port_t +ssh_client_packet_t +ssh_server_packet_t$/m);
  const json = runOffline(['ports', '--selinux-policy', POLICY_FILE, '--json']);
  t.is(json.status, 0, json.stderr);
  const table = parsePortTableJson(json.stdout, 'ports.json');
  t.true(table.labels.some((l) => l.protocol === 'tcp' && l.from <= 3128 && l.to >= 3128 && l.client === 'http_cache_client_packet_t'));
  const both = runOffline(['ports', '--selinux-policy', POLICY_FILE, '--ports-from', 'x.json']);
  t.is(both.status, 2);
  t.regex(both.stderr, /cannot be used with option '--ports-from/);
});

offline('explain DOMAIN --selinux-policy: the packet types of a domain in a policy file', (t) => {
  const r = runOffline(['explain', 'mozilla_t', '--policy', 'examples/browser-proxy.yaml', '--selinux-policy', POLICY_FILE]);
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, new RegExp(`^mozilla_t may use these packet types \\(${POLICY_FILE}; origins from examples/browser-proxy.yaml\\):`));
  t.regex(r.stdout, /^ {2}http_client_packet_t +send recv /m);
});

offline('explain --connect/--accept --selinux-policy: ports: policy takes its port labels from the same file', (t) => {
  // No --ports-from: the port table comes from the policy file too, never from a loaded policy.
  const r = runOffline(['explain', 'mozilla_t', '--policy', PORTS_POLICY, '--selinux-policy', POLICY_FILE,
    '--connect', '198.51.100.7:80/tcp', '--connect', '192.0.2.10:80/tcp', '--accept', '198.51.100.7:22/tcp']);
  t.is(r.status, 4, r.stderr);
  t.regex(r.stdout, /^connect 198\.51\.100\.7:80\/tcp: allowed: mozilla_t may send and recv http_client_packet_t \(label from port label of port 80 /m);
  t.regex(r.stdout, /^connect 192\.0\.2\.10:80\/tcp: refused: mozilla_t lacks send and recv on secmarkc_browser_client_packet_t/m);
  t.regex(r.stdout, /^accept 198\.51\.100\.7:22\/tcp: refused: mozilla_t lacks .* on ssh_server_packet_t/m);
});

offline('explain --users-of --selinux-policy: who shares a refpolicy packet type', (t) => {
  const r = runOffline(['explain', '--users-of', 'http_client_packet_t', '--policy', 'examples/browser-proxy.yaml', '--selinux-policy', POLICY_FILE]);
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, new RegExp(`^http_client_packet_t \\(http_client_packet_t\\) in ${POLICY_FILE}: not one of this policy's types`));
  t.regex(r.stdout, /^ {2}mozilla_t +recv send /m);
});

offline('check --selinux-policy audits the file (the audit with our module linked in: exclusive-refpolicy.test.ts)', (t) => {
  const r = runOffline(['check', PORTS_POLICY, '--selinux-policy', POLICY_FILE]);
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, new RegExp(`^exclusivity \\(${POLICY_FILE}\\):`, 'm'));
  t.regex(r.stdout, /secmarkc_browser_client_packet_t \(app "browser" connect\): not in .* yet; apply installs the module/);
  const none = runOffline(['check', PORTS_POLICY, '--ports-from', 'test/fixtures/valid/ports-policy/ports.json']);
  t.is(none.status, 0, none.stderr);
  t.regex(none.stdout, /exclusivity: not audited \(no loaded SELinux policy here; --selinux-policy FILE audits a policy file\)/);
});
