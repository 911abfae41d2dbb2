// Whether this host can boot the test guest at all: the runner and the VM benchmark
// (bench/vmpacket.ts) both ask before building or booting anything.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { qemuBinary } from './qemu.js';

function which(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Why the suite cannot run on this host at all, or undefined. */
export function cannotRun(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'needs root (debootstrap, chroot, QEMU with 9p)';
  const missing = [qemuBinary, 'debootstrap', 'setfiles', 'mke2fs', 'cpio', 'busybox', 'apt-get', 'dpkg-deb'].filter((c) => !which(c));
  if (missing.length) return `missing ${missing.join(', ')} (apt-get install qemu-system-x86 debootstrap busybox-static cpio policycoreutils e2fsprogs)`;
  if (!existsSync('/bin/busybox') || !/not a dynamic/.test(spawnSync('sh', ['-c', 'ldd /bin/busybox 2>&1'], { encoding: 'utf8' }).stdout)) {
    return '/bin/busybox is not the static one (apt-get install busybox-static)';
  }
  return undefined;
}

