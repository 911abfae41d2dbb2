// The only module that loads the native addon (native/secmarkc_native.cc), and the one place its
// surface is typed. The addon is a byte pipe to a NETLINK_NETFILTER socket: netlink encoding and
// decoding stay in src/netlink/. Loaded on first use, so commands that never talk to the kernel
// work without a built addon.
//
// Errors thrown (or rejected) by the socket are Node-style errno errors: `errno` (positive, as in
// os.constants.errno), `code` ('EPERM'), `syscall` ('sendmsg'), message 'sendmsg: Operation not permitted'.

import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

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
  /** Idempotent. Later calls fail with EBADF. */
  close(): void;
}

const DEFAULT_RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;

/** The addon's exports, exactly as native/secmarkc_native.cc defines them. */
interface NativeBinding {
  /** netnsFd -1: the caller's namespace. */
  NetfilterSocket: new (netnsFd: number, receiveBufferBytes: number) => NetfilterSocket;
}

/**
 * cmake-js output first (npm install builds it), then node-gyp's; relative to src/ and dist/
 * (one level below the project), then to dist/bundle/ (two levels, the bundled CLI).
 */
const CANDIDATES = ['../build/native/Release/secmarkc_native.node', '../build/Release/secmarkc_native.node'].flatMap((path) => [path, `../${path}`]);

let binding: NativeBinding | undefined;

function loadBinding(): NativeBinding {
  if (binding) return binding;
  const require = createRequire(import.meta.url);
  const failures: string[] = [];
  for (const candidate of CANDIDATES) {
    const file = fileURLToPath(new URL(candidate, import.meta.url));
    try {
      binding = require(file) as NativeBinding;
      return binding;
    } catch (error) {
      failures.push(`${file}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error(`secmarkc native addon not found; build it with 'npm run build:native'.\n  ${failures.join('\n  ')}`);
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
