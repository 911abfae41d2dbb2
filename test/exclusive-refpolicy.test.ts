// The generated CIL and the exclusivity audit against Debian's real refpolicy, on the host:
// a copy of the installed policy store gets our module (semodule -p: an independent check that
// the CIL links against refpolicy), then `secmarkc check --selinux-policy` reads the binary it
// built with setools. No SELinux kernel is needed; the SELinux VM suite runs the same on a live
// policy. Needs the Debian packages selinux-policy-default, semodule-utils/policycoreutils and
// setools (.ci/run installs them); skipped with the reason otherwise.

import test from 'ava';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './helpers/cli.js';
import { copyPolicyStore, refpolicyMissing, semoduleInstall } from './helpers/refpolicy.js';

const POLICY = `version: 1
unlabeled: deny
apps:
  browser:
    domain: mozilla_t
    connect:
      - to: [192.0.2.10]
        ports: [tcp/3128]
  ssh:
    domain: sshd_t
    serve:
      - from: [198.51.100.0/24]
        ports: [tcp/22]
`;

/** A fresh folder with a copy of the policy store (helpers/refpolicy.ts). */
function policyRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'secmarkc-refpolicy-'));
  copyPolicyStore(root);
  return root;
}

if (refpolicyMissing.length > 0) {
  test('exclusivity against Debian refpolicy', (t) => {
    t.log(`skipped: needs ${refpolicyMissing.join(', ')}`);
    t.pass();
  });
} else {
  test.serial('our module links into refpolicy, and its labels are usable by the app domains and kernel_t (send) only', (t) => {
    const root = policyRoot();
    t.teardown(() => rmSync(root, { recursive: true, force: true }));
    const dir = join(root, 'work');
    mkdirSync(dir);
    const policyFile = join(dir, 'policy.yaml');
    writeFileSync(policyFile, POLICY);
    const cil = runCli(['compile', '--format', 'cil', policyFile]);
    t.is(cil.status, 0, cil.stderr);
    writeFileSync(join(dir, 'secmarkc.cil'), cil.stdout);
    const installed = semoduleInstall(root, join(dir, 'secmarkc.cil'));
    t.is(installed.status, 0, installed.output);
    const binary = join(root, 'var/lib/selinux/default/active/policy.kern');

    const clean = runCli(['check', '--json', '--selinux-policy', binary, policyFile]);
    t.is(clean.status, 0, clean.stderr);
    const audit = JSON.parse(clean.stdout).audit as { types: { type: string; users: Record<string, string[]>; leaks: unknown[] }[] };
    t.deepEqual(
      Object.fromEntries(audit.types.map((x) => [x.type, x.users])),
      {
        secmarkc_browser_client_packet_t: { kernel_t: ['send'], mozilla_t: ['recv', 'send'] },
        secmarkc_ssh_server_packet_t: { kernel_t: ['send'], sshd_t: ['recv', 'send'] },
        secmarkc_ndp_packet_t: { kernel_t: ['recv', 'send'] },
      },
    );

    // A module that leaks: one direct grant, and the server type put into packet_type (which
    // refpolicy grants to every corenet_unconfined_type domain, and to squid_t under a boolean).
    writeFileSync(join(dir, 'leak.cil'), '(allow user_t secmarkc_browser_client_packet_t (packet (send)))\n(typeattributeset packet_type (secmarkc_ssh_server_packet_t))\n');
    const leaked = semoduleInstall(root, join(dir, 'leak.cil'));
    t.is(leaked.status, 0, leaked.output);
    const found = runCli(['check', '--selinux-policy', binary, policyFile]);
    t.is(found.status, 2, found.stderr);
    t.regex(found.stderr, /policy\.yaml:7:9: error SMC060: the label of app "browser" connect \(secmarkc_browser_client_packet_t\) is not exclusive: a domain outside the app may send it: user_t — granted by: allow user_t secmarkc_browser_client_packet_t:packet send;/);
    t.regex(found.stderr, /policy\.yaml:12:9: error SMC060: the label of app "ssh" serve \(secmarkc_ssh_server_packet_t\) is not exclusive: \d+ domains outside the app may recv and send it: .* — it is in attribute packet_type, granted by: allow corenet_unconfined_type packet_type:packet/);
    t.regex(found.stderr, /warning SMC061: .*squid_connect_any=off.*squid_t/);
    t.regex(found.stdout, /secmarkc_ssh_server_packet_t \(app "ssh" serve\): NOT exclusive; may be used by .*unconfined_t \(recv send\)/);

    // The reverse question names the same domains, with their rules; a refpolicy type is shared.
    const users = runCli(['explain', '--users-of', 'browser', '--policy', policyFile, '--selinux-policy', binary, '--json']);
    t.is(users.status, 0, users.stderr);
    const answer = JSON.parse(users.stdout) as { types: { type: string; exclusive: boolean; users: { domain: string; permissions: string[]; rules: string[] }[] }[] };
    t.deepEqual(answer.types.map((x) => [x.type, x.exclusive, x.users.map((u) => `${u.domain}:${u.permissions.join('+')}`)]), [
      ['secmarkc_browser_client_packet_t', false, ['kernel_t:send', 'mozilla_t:recv+send', 'user_t:send']],
    ]);
    t.deepEqual(answer.types[0]!.users.find((u) => u.domain === 'user_t')?.rules, ['allow user_t secmarkc_browser_client_packet_t:packet send;']);
    const shared = runCli(['explain', '--users-of', 'http_client_packet_t', '--policy', policyFile, '--selinux-policy', binary]);
    t.is(shared.status, 0, shared.stderr);
    t.regex(shared.stdout, /^http_client_packet_t .*not one of this policy's types.*shared/m);
    t.regex(shared.stdout, /^ {2}user_t +recv send +allow user_t client_packet_type:packet \{ recv send \};/m);
  });
}
