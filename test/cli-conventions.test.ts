// Unix conventions of the command line (issue 15): "-" is stdout for -o and stdin for every file
// read, once per command; -o keeps the target's mode, owner and symlink and fsyncs; option values
// are checked by commander in our `secmarkc:` form; the default `compile` output loads with
// `nft -f`; reports on stdout, errors on stderr; one documented --json shape per command.

import test from 'ava';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTableName } from '../src/cli/option-parsers.js';
import { parsePolicy } from '../src/policy/parse.js';
import { ROOT } from './helpers/cli.js';
import { buildFastCli, type FastCli } from './helpers/fast-cli.js';
import { inFreshNamespace, NFT, nsTest, nsTitle } from './helpers/namespace.js';

const EXAMPLE = join(ROOT, 'examples/browser-proxy.yaml');
const PORTS_POLICY = join(ROOT, 'test/fixtures/valid/ports-policy/policy.yaml');
const PORTS = join(ROOT, 'test/fixtures/valid/ports-policy/ports.json');
const AUDIT_LOG = join(ROOT, 'test/fixtures/avc/audit.log');
const REFPOLICY = '/etc/selinux/default/policy/policy.33';
const root = process.getuid?.() === 0;

let cli: FastCli;
test.before(async () => {
  cli = await buildFastCli();
});
test.after.always(() => cli?.remove());

function run(args: readonly string[], options: { input?: string; cwd?: string } = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli.file, ...args], { cwd: options.cwd ?? ROOT, input: options.input ?? '', encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function scratch(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'secmarkc-conv-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// --- "-"

test('-o - writes to stdout (compile, learn), never a file named "-"', (t) => {
  const dir = scratch(t);
  const nft = run(['compile', EXAMPLE, '-o', '-'], { cwd: dir });
  t.is(nft.status, 0, nft.stderr);
  t.is(nft.stdout, run(['compile', EXAMPLE]).stdout);
  const learned = run(['learn', '--audit-log', AUDIT_LOG, '-o', '-'], { cwd: dir });
  t.is(learned.status, 0, learned.stderr);
  t.regex(learned.stdout, /^apps:/m);
  t.deepEqual(readdirSync(dir), []);
});

test('"-" reads stdin: --ports-from -, learn --audit-log - and --policy -', (t) => {
  const ports = run(['compile', PORTS_POLICY, '--ports-from', '-'], { input: readFileSync(PORTS, 'utf8') });
  t.is(ports.status, 0, ports.stderr);
  t.regex(ports.stdout, /map port_client \{/);
  t.is(run(['ports', '--ports-from', '-', '--json'], { input: readFileSync(PORTS, 'utf8') }).status, 0);
  const viaStdin = run(['learn', '--audit-log', '-', '--json'], { input: readFileSync(AUDIT_LOG, 'utf8') });
  t.is(viaStdin.status, 0, viaStdin.stderr);
  t.is((JSON.parse(viaStdin.stdout) as { source: string }).source, '<stdin>');
  const merged = run(['learn', '--audit-log', AUDIT_LOG, '--policy', '-', '--json'], { input: readFileSync(EXAMPLE, 'utf8') });
  t.is(merged.status, 0, merged.stderr);
});

test('two inputs from stdin in one command: a usage error (exit 2) before anything is read', (t) => {
  const cases: [string[], string][] = [
    [['compile', '-', '--ports-from', '-'], 'POLICY and --ports-from'],
    [['check', '-', '--ports-from', '-'], 'POLICY and --ports-from'],
    [['apply', '-', '--ports-from', '-', '--dry-run'], 'POLICY and --ports-from'],
    [['status', '-', '--ports-from', '-'], 'POLICY and --ports-from'],
    [['explain', 'smc_a_t', '-p', '-', '--ports-from', '-'], '--policy and --ports-from'],
    [['learn', '--audit-log', '-', '--policy', '-'], '--audit-log and --policy'],
  ];
  for (const [args, names] of cases) {
    const r = run(args, { input: 'not read\n' });
    t.is(r.status, 2, args.join(' '));
    t.is(r.stderr, `secmarkc: ${names} are both "-", but stdin can be read by one of them only\n`, args.join(' '));
    t.is(r.stdout, '');
  }
});

// --- -o FILE

test('-o keeps an existing file\'s mode and owner, and leaves no temporary file', (t) => {
  if (!root) return t.pass('skipped: chown needs root');
  const dir = scratch(t);
  const out = join(dir, 'ruleset.nft');
  writeFileSync(out, 'old\n');
  chmodSync(out, 0o600);
  chownSync(out, 1234, 2345);
  const r = run(['compile', EXAMPLE, '-o', out]);
  t.is(r.status, 0, r.stderr);
  const after = statSync(out);
  t.is(after.mode & 0o7777, 0o600);
  t.is(after.uid, 1234);
  t.is(after.gid, 2345);
  t.regex(readFileSync(out, 'utf8'), /^#!\/usr\/sbin\/nft -f/);
  t.deepEqual(readdirSync(dir), ['ruleset.nft']);
});

test('-o through a symlink writes the file it points to and keeps the link; a dangling link is refused', (t) => {
  const dir = scratch(t);
  mkdirSync(join(dir, 'real'));
  const target = join(dir, 'real', 'ruleset.nft');
  writeFileSync(target, 'old\n', { mode: 0o640 });
  chmodSync(target, 0o640);
  const link = join(dir, 'link.nft');
  symlinkSync('real/ruleset.nft', link);
  const r = run(['compile', EXAMPLE, '-o', link]);
  t.is(r.status, 0, r.stderr);
  t.true(lstatSync(link).isSymbolicLink());
  t.is(readlinkSync(link), 'real/ruleset.nft');
  t.regex(readFileSync(target, 'utf8'), /^#!\/usr\/sbin\/nft -f/);
  t.is(statSync(target).mode & 0o7777, 0o640);
  t.deepEqual(readdirSync(join(dir, 'real')), ['ruleset.nft']);

  const dangling = join(dir, 'dangling.nft');
  symlinkSync('nowhere/x.nft', dangling);
  const refused = run(['compile', EXAMPLE, '-o', dangling]);
  t.is(refused.status, 1);
  t.is(refused.stderr, `secmarkc: cannot write ${dangling}: it is a symlink to nowhere/x.nft, which does not exist: create the file, or give its path\n`);
  t.is(readlinkSync(dangling), 'nowhere/x.nft');
});

test('-o to a FIFO writes into it and leaves it a FIFO (as for /dev/null or /dev/stdout)', (t) => {
  const dir = scratch(t);
  const fifo = join(dir, 'fifo');
  t.is(spawnSync('mkfifo', [fifo]).status, 0);
  const r = spawnSync('sh', ['-c', `cat "$1" > "$1.read" & ${process.execPath} ${cli.file} compile ${EXAMPLE} -o "$1"; s=$?; wait; exit $s`, 'sh', fifo], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  t.true(lstatSync(fifo).isFIFO());
  t.regex(readFileSync(`${fifo}.read`, 'utf8'), /^#!\/usr\/sbin\/nft -f/);
});

test('-o fsyncs the new file and then its directory', (t) => {
  if (spawnSync('strace', ['-V']).status !== 0) return t.pass('skipped: needs strace');
  const dir = scratch(t);
  const out = join(dir, 'ruleset.nft');
  const r = spawnSync('strace', ['-f', '-y', '-e', 'trace=fsync,rename,renameat,renameat2', process.execPath, cli.file, 'compile', EXAMPLE, '-o', out], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  const calls = r.stderr.split('\n').filter((l) => /\b(fsync|rename\w*)\(/.test(l) && l.includes(dir));
  const fileSync = calls.findIndex((l) => /fsync\(\d+<[^>]*ruleset\.nft\.\d+>\)/.test(l));
  const rename = calls.findIndex((l) => /rename/.test(l));
  const dirSync = calls.findIndex((l) => new RegExp(`fsync\\(\\d+<${dir}>\\)`).test(l));
  t.true(fileSync >= 0 && rename > fileSync && dirSync > rename, calls.join('\n'));
});

test('-o that fails half way (the disk is full) leaves the old file and no temporary file', (t) => {
  if (!root) return t.pass('skipped: mounting a tmpfs needs root');
  const script = [
    'set -e',
    'd=$(mktemp -d)',
    'mount -t tmpfs -o size=64k none "$d"',
    'printf "old\\n" > "$d/out.nft"',
    'dd if=/dev/zero of="$d/filler" bs=4096 count=64 2>/dev/null || true',
    `${process.execPath} ${cli.file} compile ${EXAMPLE} -o "$d/out.nft" && echo "unexpected: written" || echo "rc=$?"`,
    'cat "$d/out.nft"',
    'ls -A "$d"',
    'umount "$d"; rmdir "$d"',
  ].join('\n');
  const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  t.is(r.stdout, 'rc=1\nold\nfiller\nout.nft\n');
  t.regex(r.stderr, /^secmarkc: cannot write .*out\.nft: .*ENOSPC/m);
});

// --- options checked by commander

test('bad option values are refused by commander in our form, exit 2, with the usage hint', (t) => {
  const cases: [string[], string][] = [
    [['apply', EXAMPLE, '--retries', 'abc'], "option '--retries <n>' argument 'abc' is invalid. It takes a whole number >= 0."],
    [['apply', EXAMPLE, '--retries', '-1'], "option '--retries <n>' argument '-1' is invalid. It takes a whole number >= 0."],
    [['apply', EXAMPLE, '--wait', 'soon'], "option '--wait <seconds>' argument 'soon' is invalid. It takes a number of seconds >= 0."],
    [['remove', '--wait', '-5'], "option '--wait <seconds>' argument '-5' is invalid. It takes a number of seconds >= 0."],
    [['apply', EXAMPLE, '--on-invalid', 'open'], "option '--on-invalid <mode>' argument 'open' is invalid. Allowed choices are fail, keep, lockdown."],
    [['apply', '--rollback', '-t', 'Bad-Name'], "option '-t, --table <name>' argument 'Bad-Name' is invalid. A table name must start with a lowercase letter and contain only a-z, 0-9 and _."],
    [['status', '-t', 'Bad-Name'], "option '-t, --table <name>' argument 'Bad-Name' is invalid. A table name must start with a lowercase letter and contain only a-z, 0-9 and _."],
    [['remove', '--table', 'x'.repeat(33)], `option '-t, --table <name>' argument '${'x'.repeat(33)}' is invalid. A table name is longer than 32 characters.`],
    [['status', '-t', 'web__proxy'], `option '-t, --table <name>' argument 'web__proxy' is invalid. A table name must not contain "__" or end with "_".`],
    [['apply', '--rollback', '--table', 'secmarkc_'], `option '-t, --table <name>' argument 'secmarkc_' is invalid. A table name must not contain "__" or end with "_".`],
    [['learn', '--ephemeral', '60999-32768'], "option '--ephemeral <from-to>' argument '60999-32768' is invalid. It takes a port range FROM-TO within 1-65535, e.g. 32768-60999."],
    [['compile', EXAMPLE, '--format', 'yaml'], "option '-f, --format <format>' argument 'yaml' is invalid. Allowed choices are nft, json, cil, all."],
  ];
  for (const [args, message] of cases) {
    const r = run(args);
    t.is(r.status, 2, args.join(' '));
    t.is(r.stderr, `secmarkc: ${message}\n(run with --help for usage)\n`, args.join(' '));
    t.is(r.stdout, '');
  }
  const unknown = run(['apply', '--frobnicate']);
  t.is(unknown.status, 2);
  t.is(unknown.stderr, "secmarkc: unknown option '--frobnicate'\n(run with --help for usage)\n");
});

test('-t/--table takes exactly the table names a policy may have (no "__", no trailing "_": they are the prefix of our type names)', (t) => {
  const names = ['secmarkc', 'a', 'web_proxy2', 'x'.repeat(32), 'x'.repeat(33), '', 'Web', '2web', 'web-proxy', 'web__proxy', 'web_', '_web'];
  for (const name of names) {
    const policy = parsePolicy(`version: 1\ntable: ${JSON.stringify(name)}\nunlabeled: deny\napps: {}\n`, 'policy.yaml');
    let option = true;
    try {
      parseTableName(name);
    } catch {
      option = false;
    }
    t.is(option, policy.ok, `${JSON.stringify(name)}: ${policy.diagnostics.map((d) => d.message).join('; ')}`);
  }
  t.true(parsePolicy('version: 1\ntable: web_proxy2\nunlabeled: deny\napps: {}\n', 'policy.yaml').ok, 'the policy around the name is valid');
});

// --- compile's formats

nsTest(nsTitle('the default compile output is the nft script alone: nft -c -f - parses it (only secmark objects need the LSM)'), (t) => {
  const r = run(['compile', EXAMPLE]);
  t.is(r.status, 0, r.stderr);
  t.is(r.stdout, run(['compile', EXAMPLE, '--format', 'nft']).stdout);
  // This host has no SELinux: the kernel refuses secmark objects with ENOENT, and nothing else.
  // CIL text (what the old default appended) fails in nft's parser before anything is sent.
  const check = inFreshNamespace(`${NFT} -c -f -`, r.stdout);
  const errors = check.stderr.split('\n').filter((line) => line.includes('Error:'));
  t.true(errors.length > 0 || check.status === 0, check.stderr);
  for (const line of errors) t.regex(line, /Could not process rule: No such file or directory$/, check.stderr);
  t.notRegex(check.stderr, /syntax error/);
  const cil = inFreshNamespace(`${NFT} -c -f -`, run(['compile', EXAMPLE, '--format', 'cil']).stdout);
  t.regex(cil.stderr, /syntax error/, 'the check tells CIL from nft');
});

test('--format all writes TABLE.nft, TABLE.json and TABLE.cil into the -o directory, and refuses stdout', (t) => {
  const dir = join(scratch(t), 'out');
  const r = run(['compile', EXAMPLE, '--format', 'all', '-o', dir]);
  t.is(r.status, 0, r.stderr);
  t.is(r.stdout, '');
  t.deepEqual(readdirSync(dir).sort(), ['secmarkc.cil', 'secmarkc.json', 'secmarkc.nft']);
  for (const format of ['nft', 'json', 'cil']) t.is(readFileSync(join(dir, `secmarkc.${format}`), 'utf8'), run(['compile', EXAMPLE, '-f', format]).stdout);
  for (const args of [['compile', EXAMPLE, '--format', 'all'], ['compile', EXAMPLE, '--format', 'all', '-o', '-']]) {
    const refused = run(args);
    t.is(refused.status, 2);
    t.regex(refused.stderr, /^secmarkc: --format all writes three files: give the directory with -o DIR/);
  }
});

// --- --json: one documented shape per command (README, "JSON output")

const KEYS = {
  apply: ['command', 'dryRun', 'ok', 'table', 'policy', 'loaded', 'module', 'batch', 'record', 'fallback', 'labels'],
  remove: ['table', 'ok', 'existed', 'generation', 'module', 'labels'],
  check: ['file', 'apps', 'packetTypes', 'elements', 'ok', 'audit'],
  status: ['table', 'objects', 'maps', 'chains', 'record', 'drift', 'programs'],
  statusRecord: ['stateDir', 'none', 'otherNetns', 'error', 'says', 'live', 'liveRecord', 'consistent', 'text', 'current', 'previous', 'pending', 'writer', 'unreadable', 'missing'],
  learn: ['source', 'protocol', 'ephemeral', 'avcCount', 'denied', 'granted', 'first', 'last', 'apps', 'skipped', 'malformed', 'ignoredLines'],
  ports: ['format', 'source', 'labels', 'skipped'],
  explain: ['domain', 'policy', 'types'],
  explainConnections: ['domain', 'policy', 'connections'],
  explainUsers: ['policy', 'types', 'permissive'],
};

const keysOf = (text: string): string[] => Object.keys(JSON.parse(text) as object);

nsTest(nsTitle('apply --json and remove --json: one object each, every documented key, reports on stdout'), (t) => {
  const script = [
    'state=$(mktemp -d); bad=$(mktemp); other=$(mktemp)',
    'printf "version: 1\\nunlabeled: allow\\napps: [\\n" > "$bad"',
    `sed 's/3128/3129/' ${EXAMPLE} > "$other"`,
    `c="${process.execPath} ${cli.file}"`,
    `echo "==text"; $c apply --no-lsm --state-dir "$state" "$other" 2>/dev/null`,
    `echo "==apply"; $c apply --json --no-lsm --state-dir "$state" ${EXAMPLE}`,
    `echo "==dry"; $c apply --json --dry-run --no-lsm --state-dir "$state" ${EXAMPLE}`,
    `echo "==rollback"; $c apply --json --rollback --no-lsm --state-dir "$state"`,
    `echo "==lockdown"; $c apply --json --no-lsm --state-dir "$state" --on-invalid lockdown "$bad" 2>/dev/null; echo "rc=$?"`,
    `echo "==remove"; $c remove --json --no-lsm --state-dir "$state"`,
    `echo "==absent"; $c remove --json --no-lsm --state-dir "$state"`,
    'echo "==end"; rm -rf "$state" "$bad" "$other"',
  ].join('\n');
  const r = inFreshNamespace(script);
  t.is(r.status, 0, r.stderr);
  const part = (name: string): string => r.stdout.split(`==${name}\n`)[1]!.split('\n==')[0]!;
  t.regex(part('text'), /^applied table inet secmarkc: \d+ messages, \d+ bytes, generation \d+$/);
  const apply = JSON.parse(part('apply')) as Record<string, unknown>;
  t.deepEqual(Object.keys(apply), KEYS.apply);
  t.like(apply, { command: 'apply', dryRun: false, ok: true, table: 'secmarkc', policy: EXAMPLE, loaded: 'policy', module: null, fallback: null, labels: [] });
  t.is((apply.record as { source: string }).source, EXAMPLE);
  t.deepEqual(Object.keys(apply.batch as object), ['messages', 'bytes', 'generation', 'attempts']);
  const dry = JSON.parse(part('dry')) as Record<string, unknown>;
  t.deepEqual(Object.keys(dry), KEYS.apply);
  t.like(dry, { dryRun: true, ok: true, loaded: 'policy', record: null, batch: { generation: null, attempts: null } });
  const rollback = JSON.parse(part('rollback')) as Record<string, unknown>;
  t.like(rollback, { command: 'rollback', ok: true, loaded: 'previous', policy: null });
  const [lockdownJson, rc] = part('lockdown').split('\nrc=');
  t.is(rc!.trim(), '2');
  t.like(JSON.parse(lockdownJson!) as object, { ok: false, loaded: 'lockdown', fallback: { mode: 'lockdown' }, record: null });
  const removed = JSON.parse(part('remove')) as Record<string, unknown>;
  t.deepEqual(Object.keys(removed), KEYS.remove);
  t.like(removed, { table: 'secmarkc', ok: true, existed: true, module: null, labels: [] });
  t.like(JSON.parse(part('absent')) as object, { ok: true, existed: false });
});

test('check --json, learn --json, ports --json: every documented key', (t) => {
  const check = run(['check', EXAMPLE, '--json']);
  t.true(check.status === 0 || check.status === 1, check.stderr);
  if (check.status === 0) t.deepEqual(keysOf(check.stdout), KEYS.check);
  const learned = run(['learn', '--audit-log', AUDIT_LOG, '--json']);
  t.is(learned.status, 0, learned.stderr);
  t.deepEqual(keysOf(learned.stdout), KEYS.learn);
  const ports = run(['ports', '--ports-from', PORTS, '--json']);
  t.is(ports.status, 0, ports.stderr);
  t.deepEqual(keysOf(ports.stdout), KEYS.ports);
});

nsTest(nsTitle('status --json: every documented key, the table present or not'), (t) => {
  const c = `${process.execPath} ${cli.file}`;
  const r = inFreshNamespace(
    `state=$(mktemp -d); ${c} status --json --no-lsm --state-dir "$state"; echo "=="; ${c} apply --no-lsm --state-dir "$state" ${EXAMPLE} >/dev/null && ${c} status --json --no-lsm --state-dir "$state" ${EXAMPLE}; s=$?; rm -rf "$state"; exit $s`,
  );
  t.is(r.status, 0, r.stderr);
  const [absent, present] = r.stdout.split('==\n').map((text) => JSON.parse(text) as { record: object; drift: unknown; objects: unknown[] });
  for (const json of [absent!, present!]) {
    t.deepEqual(Object.keys(json), KEYS.status);
    t.deepEqual(Object.keys(json.record), KEYS.statusRecord);
  }
  t.deepEqual(absent!.objects, []);
  t.is(absent!.drift, null);
  t.deepEqual(present!.drift, []);
});

const explainable = existsSync(REFPOLICY) && spawnSync('sesearch', ['--version']).status === 0;
(explainable ? test : test.skip)(`explain --json (a domain, --connect, --users-of): every documented key${explainable ? '' : ' [skipped: needs sesearch and a binary policy]'}`, (t) => {
  const common = ['--selinux-policy', REFPOLICY, '--json'];
  const domain = run(['explain', 'unconfined_t', '-p', '-', ...common], { input: readFileSync(EXAMPLE, 'utf8') });
  t.is(domain.status, 0, domain.stderr);
  t.deepEqual(keysOf(domain.stdout), KEYS.explain);
  t.is((JSON.parse(domain.stdout) as { policy: string }).policy, '<stdin>');
  const connect = run(['explain', 'unconfined_t', '-p', EXAMPLE, '--connect', '192.0.2.10:3128/tcp', ...common]);
  t.true(connect.status === 0 || connect.status === 4, connect.stderr);
  t.deepEqual(keysOf(connect.stdout), KEYS.explainConnections);
  const users = run(['explain', '--users-of', 'browser', '-p', EXAMPLE, ...common]);
  t.true(users.status === 0 || users.status === 2, users.stderr);
  t.deepEqual(keysOf(users.stdout), KEYS.explainUsers);
});
