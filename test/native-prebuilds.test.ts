// The prebuilt addons the package ships (npm run build:prebuilds): each is an ELF shared object
// for its machine with the N-API entry point, needing no newer glibc than the x64 one. The
// native one is loaded by every kernel test (test/native.test.ts loads through the same loader);
// the arm64 one, cross-compiled, is loaded here by Debian's arm64 node under qemu-user
// (scripts/arm64-node.sh; .ci/run provides both). qemu-user has no NETLINK_NETFILTER sockets,
// so that run reaches the addon's constructor and its errno error (EPROTONOSUPPORT from
// socket()), not the kernel.

import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './helpers/cli.js';

const PREBUILDS = { x64: 'prebuilds/linux-x64/secmarkc.glibc.node', arm64: 'prebuilds/linux-arm64/secmarkc.glibc.node' } as const;
const MACHINE = { x64: 'Advanced Micro Devices X86-64', arm64: 'AArch64' } as const;
const built = Object.values(PREBUILDS).every((file) => existsSync(join(ROOT, file)));
const builtTest = built ? test : test.skip;
const notBuilt = built ? '' : ' [skipped: no prebuilds/; run npm run build:prebuilds (needs g++-aarch64-linux-gnu)]';

const readelf = (args: readonly string[], file: string) => {
  const r = spawnSync('readelf', ['-W', ...args, join(ROOT, file)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`readelf ${args.join(' ')} ${file}: ${r.stderr}`);
  return r.stdout;
};

/** The GLIBC_x.y versions a shared object needs, highest first. */
const glibcVersions = (file: string) =>
  [...new Set(readelf(['-V'], file).match(/\bGLIBC_[\d.]+/g) ?? [])]
    .map((v) => v.slice('GLIBC_'.length).split('.').map(Number))
    .sort((a, b) => b[0]! - a[0]! || (b[1] ?? 0) - (a[1] ?? 0));

if (!built && process.env.CI === 'true') {
  test('CI builds the prebuilds before the tests', (t) => t.fail(`missing ${Object.values(PREBUILDS).join(', ')}: .ci/run runs npm run build:prebuilds`));
}

for (const arch of ['x64', 'arm64'] as const) {
  builtTest(`the ${arch} prebuild is a ${MACHINE[arch]} shared object that exports napi_register_module_v1${notBuilt}`, (t) => {
    const header = readelf(['-h'], PREBUILDS[arch]);
    t.regex(header, /Type:\s+DYN /);
    t.regex(header, new RegExp(`Machine:\\s+${MACHINE[arch]}\\n`));
    const exported = readelf(['--dyn-syms'], PREBUILDS[arch])
      .split('\n')
      .filter((line) => / GLOBAL +DEFAULT +\d+ /.test(line))
      .map((line) => line.trim().split(/\s+/).at(-1));
    t.true(exported.includes('napi_register_module_v1'), exported.join(' '));
  });
}

builtTest(`the arm64 prebuild needs no newer glibc than the x64 one${notBuilt}`, (t) => {
  const [x64] = glibcVersions(PREBUILDS.x64);
  const [arm64] = glibcVersions(PREBUILDS.arm64);
  t.truthy(x64);
  t.truthy(arm64);
  t.true(arm64![0]! < x64![0]! || (arm64![0] === x64![0] && (arm64![1] ?? 0) <= (x64![1] ?? 0)), `arm64 needs GLIBC_${arm64!.join('.')}, x64 GLIBC_${x64!.join('.')}`);
});

/** Where scripts/arm64-node.sh unpacks Debian's arm64 node (outside the tree: a cache of the machine's). */
const ARM64_DIR = process.env.SECMARKC_ARM64_NODE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'secmarkc/arm64-node');
const ARM64_ROOT = join(ARM64_DIR, 'root');
const QEMU = ['/usr/bin/qemu-aarch64-static', '/usr/bin/qemu-aarch64'].find((p) => existsSync(p));
const armSkip = !built
  ? 'no prebuilds/'
  : !QEMU
    ? 'needs qemu-user (Debian package qemu-user-static)'
    : !existsSync(join(ARM64_ROOT, 'usr/bin/node'))
      ? `needs an arm64 node in ${ARM64_ROOT} (scripts/arm64-node.sh ${ARM64_DIR})`
      : undefined;

// On CI the emulated load is required: a missing tool there is a failure, not a skip.
(armSkip && process.env.CI !== 'true' ? test.skip : test)(
  `arm64 node under qemu-user loads the arm64 prebuild through the package's loader${armSkip ? ` [skipped: ${armSkip}]` : ''}`,
  (t) => {
    if (armSkip) return t.fail(armSkip);
    // PREBUILDS_ONLY: a source build in build/Release (x64) must not be picked first.
    const script = `
      const addon = require(${JSON.stringify(join(ROOT, 'node_modules/node-gyp-build'))})(${JSON.stringify(ROOT)});
      let error;
      try { new addon.NetfilterSocket(-1, 65536).close(); } catch (e) { error = e; }
      process.stdout.write(JSON.stringify({ arch: process.arch, exports: Object.keys(addon), error: error && { code: error.code, syscall: error.syscall, errno: error.errno, message: error.message } }));`;
    const r = spawnSync(QEMU!, ['-L', ARM64_ROOT, join(ARM64_ROOT, 'usr/bin/node'), '-e', script], {
      encoding: 'utf8',
      env: { ...process.env, PREBUILDS_ONLY: '1' },
    });
    t.is(r.status, 0, r.stderr);
    const seen = JSON.parse(r.stdout) as { arch: string; exports: string[]; error?: { code: string; syscall: string; errno: number; message: string } };
    t.is(seen.arch, 'arm64');
    t.deepEqual(seen.exports, ['NetfilterSocket', 'tryLockExclusive']);
    // qemu-user (7.2) refuses the netlink family; the addon turns that into a Node-style errno
    // error. A qemu that passes NETLINK_NETFILTER through would open the socket instead.
    if (seen.error) t.like(seen.error, { code: 'EPROTONOSUPPORT', syscall: 'socket', errno: 93, message: 'socket: Protocol not supported' });
  },
);

// secmarkc-boot, the boot loader, beside each addon (scripts/prebuild.mjs, native/build-boot.mjs):
// a static executable for its machine (no library to find at boot, musl hosts included), in a
// folder named bin/ (refpolicy labels it bin_t). The foreign one runs its self-test under qemu-user.
const LOADERS = { x64: 'prebuilds/linux-x64/bin/secmarkc-boot', arm64: 'prebuilds/linux-arm64/bin/secmarkc-boot' } as const;
for (const arch of ['x64', 'arm64'] as const) {
  builtTest(`the ${arch} prebuild has secmarkc-boot: a static ${MACHINE[arch]} executable${notBuilt}`, (t) => {
    const header = readelf(['-h'], LOADERS[arch]);
    t.regex(header, /Type:\s+EXEC /, 'a static executable, not a PIE needing a loader');
    t.regex(header, new RegExp(`Machine:\\s+${MACHINE[arch]}\\n`));
    t.notRegex(readelf(['-l'], LOADERS[arch]), /Requesting program interpreter/, 'no dynamic loader');
  });
}

(built && (process.arch === 'x64' || QEMU) ? test : test.skip)(`each prebuilt secmarkc-boot passes its SHA-256 self-test (the foreign one under qemu-user)${notBuilt}`, (t) => {
  for (const arch of ['x64', 'arm64'] as const) {
    const file = join(ROOT, LOADERS[arch]);
    const r = arch === process.arch ? spawnSync(file, ['--self-test'], { encoding: 'utf8' }) : QEMU ? spawnSync(QEMU, [file, '--self-test'], { encoding: 'utf8' }) : undefined;
    if (!r) continue;
    t.is(r.status, 0, `${arch}: ${r.stdout}${r.stderr}`);
    t.is(r.stdout.split('\n').filter((l) => l.startsWith('ok ')).length, 4, `${arch}: ${r.stdout}`);
  }
});
