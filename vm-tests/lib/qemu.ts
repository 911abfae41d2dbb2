// One headless QEMU boot: the cached image (copy-on-write, snapshot=on), the host's node and the
// project shared read-only over 9p, no network device, serial console to a log file and to the
// caller line by line, and a hard timeout that kills QEMU by its pid.
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import type { GuestImage } from './image.js';

export interface BootOptions {
  image: GuestImage;
  scenarios: string[];
  /** Folder holding the node binary, shared as `smcnode`. */
  nodeDir: string;
  nodeName: string;
  /** The project folder, shared as `smcproject`. */
  projectDir: string;
  /** `systemd`: the guest init hands over to systemd as PID 1 (vm-tests/guest/systemd-setup.mjs). */
  init?: 'systemd';
  /** vCPUs of the guest. */
  smp: string;
  timeoutMs: number;
  logFile: string;
  onLine: (line: string) => void;
}

export interface BootResult {
  lines: string[];
  exitCode: number | null;
  timedOut: boolean;
  ms: number;
}

export const qemuBinary = 'qemu-system-x86_64';

/** TCG unless asked otherwise: the hosts' /dev/kvm is known to hang stock kernels (DESIGN.md). */
export function accel(): string {
  const want = process.env.SMC_VM_ACCEL ?? 'tcg';
  if (want === 'kvm' && !existsSync('/dev/kvm')) return 'tcg';
  return want;
}

export function qemuArgs(o: BootOptions): string[] {
  const append = [
    'console=ttyS0',
    'root=/dev/vda',
    'rw',
    'quiet',
    'panic=-1',
    'security=selinux',
    'enforcing=1',
    'audit_backlog_limit=65536',
    'log_buf_len=4M',
    `smc.node=${o.nodeName}`,
    `smc.scenarios=${o.scenarios.join(',')}`,
    // Under systemd: the driver unit writes to ttyS0, so no getty may take it over.
    ...(o.init === 'systemd' ? ['smc.init=systemd', 'systemd.unit=multi-user.target', 'systemd.mask=serial-getty@ttyS0.service', 'systemd.mask=getty@tty1.service'] : []),
  ].join(' ');
  const share = (path: string, tag: string) => `local,path=${path},mount_tag=${tag},security_model=none,readonly=on`;
  return [
    '-accel', accel(),
    '-cpu', accel() === 'tcg' ? 'max' : 'host',
    '-smp', process.env.SMC_VM_SMP ?? o.smp,
    '-m', process.env.SMC_VM_MEM ?? '1024',
    '-nic', 'none',
    '-display', 'none',
    '-monitor', 'none',
    '-no-reboot',
    '-chardev', 'stdio,id=console,signal=off',
    '-serial', 'chardev:console',
    '-kernel', o.image.kernel,
    '-initrd', o.image.initrd,
    '-append', append,
    '-drive', `file=${o.image.rootfs},format=raw,if=virtio,snapshot=on`,
    '-virtfs', share(o.nodeDir, 'smcnode'),
    '-virtfs', share(o.projectDir, 'smcproject'),
  ];
}

/** QEMU processes still running, killed by killAll() when the runner itself is stopped. */
const running = new Set<number>();

export function killAll(): void {
  for (const pid of running) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export function boot(o: BootOptions): Promise<BootResult> {
  const t0 = Date.now();
  const log = createWriteStream(o.logFile);
  const lines: string[] = [];
  return new Promise((resolve, reject) => {
    const child = spawn(qemuBinary, qemuArgs(o), { stdio: ['ignore', 'pipe', 'pipe'] });
    if (child.pid !== undefined) running.add(child.pid);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    }, o.timeoutMs);
    let partial = '';
    child.stdout.on('data', (chunk: Buffer) => {
      log.write(chunk);
      const text = partial + chunk.toString().replace(/\r/g, '');
      const parts = text.split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        o.onLine(line);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => log.write(`[qemu stderr] ${chunk.toString()}`));
    child.on('error', (err) => {
      clearTimeout(timer);
      log.end();
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (child.pid !== undefined) running.delete(child.pid);
      if (partial) {
        lines.push(partial);
        o.onLine(partial);
      }
      log.end();
      resolve({ lines, exitCode: code, timedOut, ms: Date.now() - t0 });
    });
  });
}
