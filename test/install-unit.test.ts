// `secmarkc install-unit`: the unit text with this installation's absolute paths, checked by
// systemd-analyze verify where it is installed; refusal of paths a unit would need quoted.

import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootLoaderCandidates, findBootLoader } from '../src/systemd/boot-loader.js';
import { renderUnit, UnitError } from '../src/systemd/unit.js';
import { ROOT, runCli, runCliWithout } from './helpers/cli.js';
import { inFreshNamespace, nsTest, nsTitle } from './helpers/namespace.js';

const TEMPLATE = readFileSync(join(ROOT, 'packaging/systemd/secmarkc.service'), 'utf8');
const EXAMPLE = join(ROOT, 'examples/browser-proxy.yaml');
const ANALYZE = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => existsSync(p));

function install(args: string[]): { dir: string; text: string; stdout: string; stderr: string; status: number | null } {
  const dir = mkdtempSync(join(tmpdir(), 'secmarkc-unit-'));
  const r = runCli(['install-unit', '--unit-dir', dir, '--state-dir', join(dir, 'state'), ...args]);
  const path = join(dir, 'secmarkc.service');
  return { dir, text: existsSync(path) ? readFileSync(path, 'utf8') : '', stdout: r.stdout, stderr: r.stderr, status: r.status };
}

test('install-unit writes the unit with absolute paths of this installation and the chosen fallback', (t) => {
  const r = install(['--policy', EXAMPLE, '--on-invalid', 'lockdown']);
  t.is(r.status, 0, r.stderr);
  const node = realpathSync(process.execPath);
  const cli = realpathSync(join(ROOT, 'bin/secmarkc.js'));
  const exec = `${node} --jitless --no-expose-wasm ${cli} apply --on-invalid lockdown --state-dir ${join(r.dir, 'state')} ${EXAMPLE}`;
  // The fast boot path first when this tree has a loader that runs (npm run build:native builds one), the full apply as its fallback.
  const loader = findBootLoader(ROOT);
  const start = loader ? `${realpathSync(loader)} --state-dir ${join(r.dir, 'state')} ${EXAMPLE} -- ${exec}` : exec;
  t.true(r.text.includes(`\nExecStart=${start}\n`), r.text);
  t.true(r.text.includes(`\nExecReload=${exec}\n`), 'reload is the full apply');
  t.notRegex(r.text, /@[A-Z_]+@/, 'every placeholder filled');
  t.notRegex(r.text, /^ExecStop/m, 'stopping leaves the filter in place');
  for (const line of [
    'DefaultDependencies=no',
    'Wants=network-pre.target',
    'Before=network-pre.target sysinit.target shutdown.target',
    'Type=oneshot',
    'RemainAfterExit=yes',
    // Beside nftables.service, whose ruleset flush deletes our table: after it, and again after each start, restart, reload.
    'After=nftables.service',
    'PartOf=nftables.service',
    'ReloadPropagatedFrom=nftables.service',
    'WantedBy=sysinit.target nftables.service',
  ]) {
    t.true(r.text.split('\n').includes(line), line);
  }
  t.notRegex(r.text, /^(Wants|Requires|BindsTo|Requisite)=.*nftables/m, 'nftables.service is never pulled in by us');
  t.notRegex(r.text, /^[A-Za-z]+=.*firewalld/m, 'no dependency on firewalld (ordering cycle: it comes after sysinit.target)');
  t.regex(r.stdout, /is not \/etc\/systemd\/system: enable it yourself/, 'no systemctl for a folder systemd does not read');
});

const loaderTest = process.getuid?.() === 0 && findBootLoader(ROOT) ? test : test.skip;
loaderTest(`without a secmarkc-boot that runs, the unit's ExecStart is the full apply, and install-unit says so${findBootLoader(ROOT) ? '' : ' [skipped: no loader built: npm run build:native]'}`, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'secmarkc-unit-noloader-'));
  // Each candidate covered by /dev/null, which does not run: as on a machine where none was built.
  const hidden = bootLoaderCandidates(ROOT).filter((p) => existsSync(p));
  const r = runCliWithout(hidden, ['install-unit', '--dry-run', '--json', '--unit-dir', dir, '--state-dir', join(dir, 'state'), '--policy', EXAMPLE]);
  t.is(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { text: string; bootLoader: string | null };
  t.is(report.bootLoader, null);
  t.regex(report.text, /^ExecStart=\/\S+\/node --jitless /m);
  t.notRegex(report.text, /secmarkc-boot --state-dir/);
  t.regex(r.stderr, /no secmarkc-boot for .*: the unit runs the full apply \(node\) at every boot/);
});

test('install-unit names the table of a policy that has its own, so fallbacks find its records', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'secmarkc-unit-policy-'));
  const policy = join(dir, 'policy.yaml');
  spawnSync('sh', ['-c', `sed 's/^table: secmarkc/table: office/' ${EXAMPLE} > ${policy}`]);
  const r = install(['--policy', policy]);
  t.is(r.status, 0, r.stderr);
  t.regex(r.text, /apply --on-invalid keep --table office --state-dir/);
});

test('install-unit --dry-run prints the unit and writes nothing; a missing policy is a note on what the boot will do', (t) => {
  const r = install(['--dry-run', '--policy', '/nonexistent/policy.yaml']);
  t.is(r.status, 0, r.stderr);
  t.is(r.text, '', 'nothing written');
  t.regex(r.stdout, /^# would write .*secmarkc\.service\n/);
  t.regex(r.stdout, /ExecStart=.* apply --on-invalid keep .* \/nonexistent\/policy\.yaml\n/);
  t.is(
    r.stderr,
    'secmarkc: note: /nonexistent/policy.yaml does not exist yet. Until it does, the unit applies nothing at boot and stays active: ' +
      'this host is not filtered by secmarkc (and stays reachable). Write the policy, then: systemctl restart secmarkc\n',
  );
});

interface Report {
  unit: string;
  written: boolean;
  enabled: boolean;
  policy: { path: string; exists: boolean; valid: boolean | null };
  table: string;
  onInvalid: string;
  stateDir: string;
  recorded: boolean;
  atBoot: string;
  commands: string[][];
  bootLoader: string | null;
  dryRun: boolean;
  text?: string;
}

test('install-unit --json: one object on stdout with stable keys, notes on stderr', (t) => {
  const r = install(['--json', '--policy', '/nonexistent/policy.yaml']);
  t.is(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as Report;
  t.deepEqual(report, {
    unit: join(r.dir, 'secmarkc.service'),
    written: true,
    enabled: false,
    policy: { path: '/nonexistent/policy.yaml', exists: false, valid: null },
    table: 'secmarkc',
    onInvalid: 'keep',
    stateDir: join(r.dir, 'state'),
    recorded: false,
    atBoot: 'nothing-to-apply',
    commands: [],
    bootLoader: findBootLoader(ROOT) === undefined ? null : realpathSync(findBootLoader(ROOT)!),
    dryRun: false,
  });
  t.true(r.text.length > 0, 'written');
  t.regex(r.stderr, /^secmarkc: note: /);
  const d = install(['--json', '--dry-run', '--policy', EXAMPLE]);
  const dry = JSON.parse(d.stdout) as Report;
  t.like(dry, { written: false, dryRun: true, atBoot: 'apply', policy: { path: EXAMPLE, exists: true, valid: true } });
  t.regex(dry.text ?? '', /^ExecStart=/m);
  t.is(d.stderr, '', 'a valid policy: nothing to note');
  t.is(d.text, '', 'dry run: nothing written');
});

test('install-unit says what the next boot does for each mode and policy state (the risk on a remote host)', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'secmarkc-unit-modes-'));
  const bad = join(dir, 'bad.yaml');
  spawnSync('sh', ['-c', `sed 's#tcp/3128#tcp/0#' ${EXAMPLE} > ${bad}`]);
  const atBoot = (args: string[]) => {
    const r = install(['--json', ...args]);
    return { atBoot: (JSON.parse(r.stdout) as Report).atBoot, stderr: r.stderr };
  };
  const missing = ['--policy', join(dir, 'none.yaml')];
  t.is(atBoot(missing).atBoot, 'nothing-to-apply');
  const lockdown = atBoot([...missing, '--on-invalid', 'lockdown']);
  t.is(lockdown.atBoot, 'lockdown');
  t.regex(lockdown.stderr, /warning: .*none\.yaml does not exist yet: with --on-invalid lockdown the next boot LOCKS DOWN this host .* cut off/);
  const fail = atBoot([...missing, '--on-invalid', 'fail']);
  t.is(fail.atBoot, 'load-nothing');
  t.regex(fail.stderr, /loads nothing and is marked failed \(--on-invalid fail\)/);
  const invalid = atBoot(['--policy', bad]);
  t.is(invalid.atBoot, 'load-nothing');
  t.regex(invalid.stderr, /bad\.yaml is not valid now \(secmarkc check .*\): at boot the unit loads nothing and is marked failed \(--on-invalid keep, and no policy was ever applied\)/);
  t.is(atBoot(['--policy', bad, '--on-invalid', 'lockdown']).atBoot, 'lockdown');
  t.is(atBoot(['--policy', EXAMPLE, '--on-invalid', 'lockdown']).atBoot, 'apply');
});


test('install-unit refuses a bad --on-invalid and a malformed SELinux context (exit 2)', (t) => {
  const a = install(['--on-invalid', 'ignore']);
  t.is(a.status, 2);
  t.regex(a.stderr, /^secmarkc: option '--on-invalid <mode>' argument 'ignore' is invalid. Allowed choices are fail, keep, lockdown.\n\(run with --help for usage\)/);
  const b = install(['--policy', EXAMPLE, '--selinux-context', 'initrc_t; rm -rf /']);
  t.is(b.status, 2);
  t.regex(b.stderr, /is not an SELinux context/);
  const c = install(['--policy', EXAMPLE, '--selinux-context', 'system_u:system_r:initrc_t:s0']);
  t.is(c.status, 0, c.stderr);
  t.regex(c.text, /^SELinuxContext=system_u:system_r:initrc_t:s0$/m);
});

test('a path a unit file would need quoted is refused, not pasted', (t) => {
  const settings = { node: '/usr/bin/node', secmarkc: '/usr/lib/secmarkc/bin/secmarkc.js', installDir: '/usr/lib/secmarkc', stateDir: '/var/lib/secmarkc', onInvalid: 'keep' };
  for (const policy of ['/etc/secmarkc/my policy.yaml', '/etc/%n.yaml', '/etc/$HOME.yaml', 'relative.yaml']) {
    t.throws(() => renderUnit(TEMPLATE, { ...settings, policy }), { instanceOf: UnitError, message: /policy path .* must be an absolute path/ }, policy);
  }
});

const verifyTitle = 'the written unit passes systemd-analyze verify';
(ANALYZE ? test : test.skip)(ANALYZE ? verifyTitle : `${verifyTitle} [skipped: systemd-analyze not installed (Debian package systemd)]`, (t) => {
  const r = install(['--policy', EXAMPLE]);
  t.is(r.status, 0, r.stderr);
  const v = spawnSync(ANALYZE!, ['verify', join(r.dir, 'secmarkc.service')], { encoding: 'utf8' });
  t.is(v.status, 0, v.stderr);
  t.is(v.stderr.split('\n').filter((l) => l.includes('secmarkc.service')).join('\n'), '', 'no complaint about our unit');
});

nsTest(nsTitle('install-unit with a record but no policy file: the boot keeps the last applied policy, and says so'), (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'secmarkc-unit-record-'));
  const state = join(dir, 'state');
  const run = inFreshNamespace(`${process.execPath} ${join(ROOT, 'bin/secmarkc.js')} apply ${EXAMPLE} --no-lsm --state-dir ${state}`);
  t.is(run.status, 0, run.stderr);
  const r = runCli(['install-unit', '--json', '--unit-dir', dir, '--state-dir', state, '--policy', join(dir, 'deleted.yaml')]);
  t.is(r.status, 0, r.stderr);
  t.like(JSON.parse(r.stdout) as Report, { recorded: true, atBoot: 'keep-last-applied' });
  t.regex(r.stderr, new RegExp(`deleted\\.yaml does not exist yet: at boot the unit keeps the policy last applied for table secmarkc \\(recorded in ${state}\\) and is marked failed`));
});
