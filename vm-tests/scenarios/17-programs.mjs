// Apps by program path (issue 14), with real refpolicy domains and a real systemd service.
// /usr/local/bin/fetch is a copy of bash (so it can connect with /dev/tcp and print its own
// domain); the policy lists it under `programs`, run from the defaults (unconfined_t for a
// login shell, initrc_t for what systemd starts). From a login shell (unconfined_u:unconfined_r):
// fetch runs in the generated domain and reaches its peer, is refused on another app's label and
// on unlabelled traffic; the same bytes at another path run in unconfined_t and are refused, as
// is the shell itself. A unit whose ExecStart is fetch runs in the domain generated for initrc_t.
// The generated domain holds nothing its parent lacks but the app's packet grants (setools in
// the guest). status reports a relabelled file; a missing program fails apply with its line and
// changes nothing; remove --module gives the file its label back.
import { copyFileSync, readFileSync, rmSync, statSync } from 'node:fs';
import { URL, fileURLToPath } from 'node:url';
import { deniedPacket, verdict } from '../guest/lib.mjs';
import { PEER4, listeners, peerNetwork } from '../guest/fixtures.mjs';

export const meta = {
  boot: 'programs',
  init: 'systemd',
  budgetSec: 1200,
  needs: ['apply', 'status', 'remove', 'explain'],
  title: 'apps by program path: generated domains from a login shell and a service, never more than the parent',
};

const FETCH = '/usr/local/bin/fetch';
const COPY = '/usr/local/bin/fetch-copy';
const LOGIN = 'unconfined_u:unconfined_r:unconfined_t:s0';
const EXEC_T = 'secmarkc_fetch_exec_t';
const DOMAIN_LOGIN = 'secmarkc_fetch_unconfined_t';
const DOMAIN_SERVICE = 'secmarkc_fetch_initrc_t';
const FETCH_T = 'secmarkc_fetch_client_packet_t';
const OTHER_T = 'secmarkc_other_client_packet_t';
const SERVICE_OUT = '/run/smc-fetch-service.txt';
/** The loaded SELinux policy before the module: what the parents could do without us. */
const ORIGINAL_POLICY = '/tmp/policy.original';

/** bash: print the domain, then connect to $1:$2, send a line, wait for its echo. */
const CLIENT = 'cat /proc/self/attr/current; echo; exec 3<>"/dev/tcp/$1/$2" || exit 7; echo smc-ping >&3; read -r -t 4 line <&3; [ "$line" = smc-ping ] || exit 8';

const POLICY = (programs = [FETCH]) => `# 17-programs
version: 1
table: secmarkc
unlabeled: deny
apps:
  fetch:
    programs: [${programs.join(', ')}]
    connect:
      - to: [${PEER4}]
        ports: [tcp/3128]
  other:
    domain: smc_b_t
    connect:
      - to: [${PEER4}]
        ports: [tcp/3129]
`;

export function setup(s) {
  copyFileSync('/bin/bash', FETCH);
  s.run(['chmod', '755', FETCH]);
  s.run(['restorecon', FETCH]);
  // What systemd runs: fetch itself as the service's program, reporting its domain and outcomes.
  const script = [
    'exec >' + SERVICE_OUT + ' 2>&1',
    'echo "domain $(cat /proc/self/attr/current)"',
    `for port in 3128 3129; do if (exec 3<>/dev/tcp/${PEER4}/$port && echo smc-ping >&3 && read -r -t 4 line <&3 && [ "$line" = smc-ping ]); then echo "port $port ok"; else echo "port $port refused"; fi; done`,
  ].join('; ');
  s.unit('smc-fetch.service', `[Unit]\nDescription=secmarkc VM: a listed program as a service\n\n[Service]\nType=oneshot\nExecStart=${FETCH} -c '${script}'\n`);
}

/** Run `program -c CLIENT` from a login shell; outcome like contextClient, plus the domain it printed. */
async function runFrom(t, program, port) {
  const t0 = Date.now();
  const r = await t.inContext(LOGIN, `exec "$1" -c '${CLIENT}' fetch "$2" "$3"`, [program, PEER4, port]).done;
  const domain = r.stdout.split('\n')[0]?.replace(/\0/g, '').trim() ?? '';
  const outcome = r.killed ? 'timeout' : r.code === 0 ? 'ok' : r.code === 7 && /refused|not permitted|denied/i.test(r.stderr) ? 'refused' : r.code === 8 ? 'timeout' : 'error';
  return { outcome, domain, code: `exit ${r.code}${r.stderr ? `: ${r.stderr.trim().slice(0, 160)}` : ''}`, ms: Date.now() - t0 };
}


const typeOf = (t, path) => t.run(['stat', '-c', '%C', path]).stdout.trim().split(':')[2];

export async function run(t) {
  peerNetwork(t);
  await t.server(listeners([3128, 3129, 3130]), { ns: 'peer' });
  const before = t.run(['stat', '-c', '%C', FETCH]).stdout.trim();
  t.run(['cp', '/sys/fs/selinux/policy', ORIGINAL_POLICY]);
  t.check('fetch-starts-as-bin_t', before.split(':')[2] === 'bin_t', { expected: 'bin_t', got: before });

  const applied = await t.apply('programs', POLICY(), { audit: true, allowFail: true });
  t.check('apply-exit-0', applied.code === 0, { expected: 0, got: applied.code, stderr: applied.stderr.slice(-600) });
  t.check('apply-labels-fetch', typeOf(t, FETCH) === EXEC_T && new RegExp(`^labelled ${FETCH}: \\S*bin_t\\S* -> \\S*${EXEC_T}`, 'm').test(applied.stdout), {
    expected: `${FETCH} labelled ${EXEC_T}, said on stdout`,
    got: `${typeOf(t, FETCH)}; ${applied.stdout.split('\n').filter((l) => /labelled/.test(l)).join(' | ')}`,
  });

  await t.phase('login-shell', async () => {
    let mark = t.kmsg.read();
    const reached = await runFrom(t, FETCH, 3128);
    verdict(t, 'fetch-in-generated-domain', { ...reached, outcome: reached.domain === `unconfined_u:unconfined_r:${DOMAIN_LOGIN}:s0` ? 'yes' : 'no' }, 'yes', mark);
    verdict(t, 'fetch-reaches-its-peer', reached, 'ok', mark);
    mark = t.kmsg.read();
    verdict(t, 'fetch-refused-other-app-label', await runFrom(t, FETCH, 3129), 'refused', mark, deniedPacket('send', DOMAIN_LOGIN, OTHER_T));
    mark = t.kmsg.read();
    verdict(t, 'fetch-refused-unlabelled', await runFrom(t, FETCH, 3130), 'refused', mark, deniedPacket('send', DOMAIN_LOGIN, 'unlabeled_t'));

    // The entry keeps the environment the parent gives (noatsecure: no secure-exec mode, in which
    // the loader would drop LD_LIBRARY_PATH) and the shell's job control (the child's sigchld).
    const env = await t.inContext(LOGIN, 'LD_LIBRARY_PATH=/smc-kept "$1" -c \'echo "$LD_LIBRARY_PATH"; cat /proc/self/attr/current\' & wait $!; echo "status $?"', [FETCH]).done;
    t.check('entry-keeps-environment', /^\/smc-kept\n/.test(env.stdout) && env.stdout.includes(DOMAIN_LOGIN) && /status 0\s*$/.test(env.stdout), {
      expected: `LD_LIBRARY_PATH kept in ${DOMAIN_LOGIN}, background job waited for with status 0`,
      got: JSON.stringify(env.stdout.slice(0, 200) + env.stderr.slice(0, 200)),
    });

    copyFileSync(FETCH, COPY);
    t.cleanups.push(() => rmSync(COPY, { force: true }));
    t.run(['restorecon', COPY]);
    mark = t.kmsg.read();
    const copy = await runFrom(t, COPY, 3128);
    verdict(t, 'copy-runs-in-unconfined_t', { ...copy, outcome: copy.domain === LOGIN ? 'yes' : 'no' }, 'yes', mark);
    verdict(t, 'copy-refused-app-label', copy, 'refused', mark, deniedPacket('send', 'unconfined_t', FETCH_T));
    mark = t.kmsg.read();
    verdict(t, 'parent-shell-refused-app-label', await t.contextClient(LOGIN, PEER4, 3128), 'refused', mark, deniedPacket('send', 'unconfined_t', FETCH_T));
  });

  await t.phase('service', async () => {
    const mark = t.kmsg.read();
    rmSync(SERVICE_OUT, { force: true });
    const r = t.run(['systemctl', 'start', 'smc-fetch.service'], { allowFail: true });
    let out;
    try {
      out = readFileSync(SERVICE_OUT, 'utf8');
    } catch (e) {
      out = `no ${SERVICE_OUT}: ${e.message}; systemctl exit ${r.code}: ${r.stderr.slice(0, 200)}`;
    }
    const domain = /^domain (\S+)/m.exec(out)?.[1]?.replace(/\0/g, '') ?? '';
    t.check('service-in-generated-domain', domain.split(':')[2] === DOMAIN_SERVICE, { expected: `system_u:system_r:${DOMAIN_SERVICE}:s0`, got: domain || out.slice(0, 300) });
    t.check('service-reaches-its-peer', /port 3128 ok/.test(out), { expected: 'port 3128 ok', got: out.trim().slice(0, 300) });
    const avc = t.kernelSince(mark).find((l) => deniedPacket('send', DOMAIN_SERVICE, OTHER_T).test(l));
    t.check('service-refused-other-app-label', /port 3129 refused/.test(out) && avc !== undefined, { expected: 'port 3129 refused, denied send on the other app label', got: `${out.trim().slice(0, 200)}; avc: ${avc ?? 'none'}` });
  });

  // Never more than the parent: with setools in the guest (the host test's comparer), each
  // generated domain's rights in the loaded policy against its parent's in the policy as it was
  // before the module, under the booleans as they are, all on and all off.
  await t.phase('never-more-than-parent', () => {
    t.run(['cp', '/sys/fs/selinux/policy', '/tmp/policy.with-module']);
    const request = {
      policy: '/tmp/policy.with-module',
      original: ORIGINAL_POLICY,
      readAs: { [DOMAIN_LOGIN]: 'unconfined_t', [DOMAIN_SERVICE]: 'initrc_t', [EXEC_T]: 'bin_t' },
      execType: EXEC_T,
      packetTypes: [FETCH_T],
      pairs: [
        { parent: 'unconfined_t', domain: DOMAIN_LOGIN },
        { parent: 'initrc_t', domain: DOMAIN_SERVICE },
      ],
    };
    const r = t.run(['python3', fileURLToPath(new URL('../../test/helpers/domain-rights.py', import.meta.url))], { input: JSON.stringify(request), allowFail: true });
    let result;
    try {
      result = JSON.parse(r.stdout);
    } catch {
      t.check('domain-rights-ran', false, { expected: 'JSON', got: `exit ${r.code}: ${r.stderr.slice(-500)}` });
      return;
    }
    for (const pair of result.pairs) {
      for (const [state, s] of Object.entries(pair.states)) {
        t.check(`${pair.domain}-${state}-nothing-${pair.parent}-lacks`, s.excess.length === 0 && s.triples.domain > 1000, {
          expected: `no (target, class, permission) beyond ${pair.parent}'s but the packet grant on ${FETCH_T}`,
          got: `${s.triples.domain} triples (parent ${s.triples.parent}); excess ${s.excess.length}: ${JSON.stringify(s.excess.slice(0, 5))}`,
        });
      }
      const entry = pair.states.current.entrypointTargets;
      t.check(`${pair.domain}-only-entrypoint-is-the-program`, JSON.stringify(entry) === JSON.stringify([EXEC_T]), { expected: [EXEC_T], got: entry });
      const packets = [...new Set(pair.states.current.packet.map(([type]) => type))];
      t.check(`${pair.domain}-packet-rights-are-the-app`, JSON.stringify(packets) === JSON.stringify([FETCH_T]), { expected: [FETCH_T], got: packets });
    }
  });

  // explain takes the program's path: its generated domain, and what that may reach.
  await t.phase('explain-program', () => {
    const r = t.secmarkc(['explain', '-p', '/tmp/policy.yaml', FETCH, '--connect', `${PEER4}:3128/tcp`, '--connect', `${PEER4}:3129/tcp`], { allowFail: true });
    t.check('explain-program-path', r.code === 4 && r.stdout.includes(`${DOMAIN_LOGIN}: generated for app "fetch"`) && /connect 192\.0\.2\.10:3128\/tcp: allowed/.test(r.stdout) && /connect 192\.0\.2\.10:3129\/tcp: refused/.test(r.stdout), {
      expected: `exit 4: ${DOMAIN_LOGIN} named, 3128 allowed, 3129 refused`,
      got: `exit ${r.code}: ${(r.stdout + r.stderr).trim().slice(0, 500)}`,
    });
  });

  await t.phase('status-drift', async () => {
    const clean = t.secmarkc(['status'], { allowFail: true });
    t.check('status-clean', clean.code === 0 && clean.stdout.includes(`program ${FETCH}: ${EXEC_T}`), { expected: `exit 0, program ${FETCH}: ${EXEC_T}`, got: `exit ${clean.code}: ${clean.stdout.split('\n').filter((l) => l.startsWith('program')).join(' | ')}` });
    t.run(['chcon', '-t', 'bin_t', FETCH]);
    const drift = t.secmarkc(['status'], { allowFail: true });
    t.check('status-drift-exit-3', drift.code === 3 && new RegExp(`program ${FETCH}: DRIFT`).test(drift.stdout), { expected: 'exit 3, DRIFT', got: `exit ${drift.code}: ${drift.stdout.split('\n').filter((l) => l.startsWith('program')).join(' | ')}` });
    await t.apply('programs', POLICY(), { allowFail: true });
    t.check('apply-relabels-after-drift', typeOf(t, FETCH) === EXEC_T, { expected: EXEC_T, got: typeOf(t, FETCH) });
  });

  await t.phase('missing-program', async () => {
    const table = t.run(['nft', '-s', 'list', 'table', 'inet', 'secmarkc']).stdout;
    const stamp = statSync(FETCH).ctimeMs;
    const r = await t.apply('missing', POLICY([FETCH, '/usr/local/bin/nothere']), { allowFail: true });
    const after = t.run(['nft', '-s', 'list', 'table', 'inet', 'secmarkc']).stdout;
    t.check('missing-program-refused', r.code === 2 && /policy\.yaml:7:\d+: error SMC073: program "\/usr\/local\/bin\/nothere" does not exist/.test(r.stderr), { expected: 'exit 2, policy.yaml:7:COL: error SMC073', got: `exit ${r.code}: ${r.stderr.slice(0, 300)}` });
    t.check('missing-program-changes-nothing', table === after && statSync(FETCH).ctimeMs === stamp && typeOf(t, FETCH) === EXEC_T, { expected: 'table and label unchanged', got: `table ${table === after ? 'unchanged' : 'CHANGED'}, ${typeOf(t, FETCH)}` });
  });

  await t.phase('remove-module', async () => {
    const r = t.secmarkc(['remove', '--module'], { allowFail: true });
    t.check('remove-restores-label', r.code === 0 && typeOf(t, FETCH) === 'bin_t' && new RegExp(`^restored ${FETCH}`, 'm').test(r.stdout), { expected: 'exit 0, bin_t again, said on stdout', got: `exit ${r.code}, ${typeOf(t, FETCH)}: ${(r.stdout + r.stderr).slice(0, 300)}` });
    const mark = t.kmsg.read();
    const after = await runFrom(t, FETCH, 3128);
    verdict(t, 'fetch-runs-as-before', { ...after, outcome: after.domain === LOGIN && after.outcome === 'ok' ? 'yes' : 'no' }, 'yes', mark);
  });
}
