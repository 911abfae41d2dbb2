// The only module that loads the native addon (native/secmarkc_native.cc), and the one place its
// surface is typed. The addon is a byte pipe to a NETLINK_NETFILTER socket: netlink encoding and
// decoding stay in src/netlink/. Loaded on first use, so commands that never talk to the kernel
// never load it (and work where it is missing).
//
// Errors thrown (or rejected) by the socket are Node-style errno errors: `errno` (positive, as in
// os.constants.errno), `code` ('EPERM'), `syscall` ('sendmsg'), message 'sendmsg: Operation not permitted'.

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SecmarkcError } from './errors.js';

export interface OpenOptions {
  /**
   * fd of a network namespace (e.g. fs.openSync('/proc/PID/ns/net') or '/run/netns/NAME'); the socket
   * is created inside it (setns on the calling thread, then back). Needs CAP_SYS_ADMIN.
   */
  netnsFd?: number;
  /** SO_RCVBUFFORCE, falling back to SO_RCVBUF (capped by net.core.rmem_max). Default 4 MiB, for dumps. */
  receiveBufferBytes?: number;
}

export interface NetfilterSocket {
  /** nl_pid from getsockname: replies from the kernel carry it. */
  readonly portId: number;
  /**
   * One sendmsg of the whole buffer. A buffer larger than the send buffer raises it first
   * (SO_SNDBUFFORCE, falling back to SO_SNDBUF), so 10 MB batches work. The kernel processes an
   * nf_tables batch synchronously inside this call.
   */
  send(message: Uint8Array): void;
  /**
   * send() from a worker thread: resolves once sendmsg has returned (for a batch: once the kernel
   * has processed it), rejects with the same errno errors. The message is read in place: it must
   * not be changed until the promise settles, and nothing else may be sent meanwhile.
   */
  sendAsync(message: Uint8Array): Promise<void>;
  /**
   * Every datagram already queued (at most `max`), without waiting. Throws ENOBUFS if replies were
   * lost to an overrun. Receiving a queued part of a dump makes the kernel queue the next one, so
   * without `max` one call returns a whole dump; with it, a dump can be read in bounded memory.
   */
  drain(max?: number): Buffer[];
  /** One datagram, waiting up to timeoutMs off the event loop; null on timeout or when closed meanwhile. */
  receive(timeoutMs: number): Promise<Buffer | null>;
  /**
   * Idempotent. Later calls fail with EBADF. The descriptor is released on a thread of its own:
   * after a commit the kernel takes an RCU grace period to release it, which nobody waits for.
   */
  close(): void;
}

const DEFAULT_RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;

/** The addon's exports, exactly as native/secmarkc_native.cc defines them. */
interface NativeBinding {
  /** netnsFd -1: the caller's namespace. */
  NetfilterSocket: new (netnsFd: number, receiveBufferBytes: number) => NetfilterSocket;
  /** flock(fd, LOCK_EX | LOCK_NB): true once taken, false while another holder has it; errno errors as the socket's. */
  tryLockExclusive(fd: number): boolean;
}

/** node-gyp-build's loader (the package's dependency; types kept to what is used here). */
type Loader = (packageRoot: string) => unknown;

/**
 * The package's root: the first directory above this file with secmarkc's package.json (one
 * level up from src/, two from dist/bundle/, where the bundled CLI runs).
 */
function packageRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    try {
      if ((JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown }).name === 'secmarkc') return dir;
    } catch {
      // No (readable) package.json here: keep looking.
    }
    if (dirname(dir) === dir) throw new Error(`no package.json of secmarkc above ${fileURLToPath(import.meta.url)}`);
  }
}

let binding: NativeBinding | undefined;

/** The addon could not be loaded: nothing was sent to the kernel. */
export class AddonLoadError extends SecmarkcError {
  constructor(message: string) {
    super('SMC109', message);
  }
}

/**
 * What node-gyp-build would load in the common case, found without it: a source build in
 * build/Release (a clone's `npm run build:native`, or the install's fallback build) if there is
 * one, else the prebuilt prebuilds/linux-<arch>/secmarkc.glibc.node (scripts/prebuild.mjs). Its
 * own lookup (loading its module, reading package.json, listing build/Release, build/Debug and
 * prebuilds/) cost a cold apply ~4 ms. undefined whenever its answer could differ (a build/ without
 * build/Release, a musl system, the variables that steer it): then it decides, errors included.
 */
export function knownAddonPath(root: string): string | undefined {
  const steered = ['PREBUILDS_ONLY', 'SECMARKC_PREBUILD', 'npm_config_arch', 'npm_config_platform', 'LIBC'].some((name) => process.env[name] !== undefined);
  if (steered) return undefined;
  const release = join(root, 'build/Release/secmarkc_native.node');
  if (existsSync(release)) return release;
  if (existsSync(join(root, 'build'))) return undefined;
  if (process.platform !== 'linux' || existsSync('/etc/alpine-release')) return undefined;
  const prebuild = join(root, `prebuilds/linux-${process.arch}/secmarkc.glibc.node`);
  return existsSync(prebuild) ? prebuild : undefined;
}

/** Load a .node file by its path, as require() does once it has resolved one. */
function dlopen(path: string): unknown {
  const module = { exports: {} };
  process.dlopen(module, path);
  return module.exports;
}

/**
 * The addon from the package root: at a known path (knownAddonPath), else through node-gyp-build,
 * whose search order that follows: build/Release, build/Debug, then the prebuild that matches
 * this machine.
 */
function loadBinding(): NativeBinding {
  if (binding) return binding;
  const root = packageRoot();
  try {
    const known = knownAddonPath(root);
    binding = (known ? dlopen(known) : (createRequire(join(root, 'package.json'))('node-gyp-build') as Loader)(root)) as NativeBinding;
    return binding;
  } catch (error) {
    throw new AddonLoadError(
      `native addon not found or not loadable (needed to talk to the kernel): ${(error as Error).message.trim().split('\n')[0]}\n` +
        `  build it from source (python3, make and a C++ compiler): 'npm rebuild secmarkc' (-g for a global install), or 'npm run build:native' in a clone`,
    );
  }
}

/** Open a NETLINK_NETFILTER socket (bound, NETLINK_EXT_ACK and NETLINK_CAP_ACK on). */
export function openNetfilterSocket(options: OpenOptions = {}): NetfilterSocket {
  const { netnsFd } = options;
  // -1 means "this namespace" to the addon; refuse it here so a bad fd cannot silently mean the host.
  if (netnsFd !== undefined && !(Number.isInteger(netnsFd) && netnsFd >= 0)) {
    throw new RangeError(`netnsFd must be a file descriptor (an integer >= 0), got ${netnsFd}`);
  }
  const { NetfilterSocket } = loadBinding();
  return new NetfilterSocket(options.netnsFd ?? -1, options.receiveBufferBytes ?? DEFAULT_RECEIVE_BUFFER_BYTES);
}

/**
 * An exclusive flock(2) on `fd` if nobody else holds one (never waits): true once taken. Node has
 * no flock; the addon that talks to the kernel has it, so a writer (who needs the addon anyway)
 * spends no process on its lock.
 */
export function tryLockExclusive(fd: number): boolean {
  return loadBinding().tryLockExclusive(fd);
}
