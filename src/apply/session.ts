// A conversation with nf_tables over one NETLINK_NETFILTER socket: read the generation, send a
// batch and collect its outcome, run a dump to NLMSG_DONE. Bytes are built and parsed in
// src/netlink; the socket (src/native.ts) only moves them.

import { openNetfilterSocket, type NetfilterSocket } from '../native.js';
import { batchOutcome, DumpCollector, type BatchOutcome } from '../netlink/decode/replies.js';
import type { DecodedMessage } from '../netlink/decode/message.js';
import type { NetlinkMessage } from '../netlink/wire/message.js';
import type { EncodedBatch } from '../netlink/encode-ruleset.js';
import { encodeGetGen } from '../netlink/requests.js';
import { ERRNO, errnoName, errnoText, type NetlinkError } from '../netlink/wire/error.js';
import { SecmarkcError } from '../errors.js';

/** How long to wait for the kernel's next datagram before calling it unresponsive. */
const REPLY_TIMEOUT_MS = 5000;

/**
 * A batch up to this size is sent from this thread, and `meanwhile` runs once the kernel is done:
 * the kernel takes ~30 µs per KiB of batch (0.16 ms at 10 entries, 1.2 ms at 1,000), and the
 * worker thread's overlap only pays beyond what starting libuv's thread pool for it costs (4
 * threads, joined again at exit: 0.25 ms at best, ~2 ms median on a loaded machine). Measured in
 * bench/startup-notes.md; 64 KiB is ~1,500 entries.
 */
export const INLINE_SEND_MAX_BYTES = 64 * 1024;

/** Datagrams read from the socket at a time (~32 KiB each in a dump of a large map). */
const DRAIN_AT_ONCE = 16;

export class KernelError extends SecmarkcError {
  constructor(
    message: string,
    readonly errno: number,
    readonly errnoName: string,
  ) {
    super('SMC107', message);
  }

  static from(what: string, error: NetlinkError): KernelError {
    const hint = error.errno === ERRNO.EPERM ? ': nf_tables needs CAP_NET_ADMIN (run as root)' : '';
    return new KernelError(`${what}: ${errnoText(error.errno)} (${errnoName(error.errno)})${hint}`, error.errno, errnoName(error.errno));
  }
}

export class NetfilterSession {
  private seq = Math.floor(Date.now() / 1000) & 0x3fffffff;

  private constructor(private readonly socket: NetfilterSocket) {}

  static open(netnsFd?: number): NetfilterSession {
    return new NetfilterSession(openNetfilterSocket(netnsFd === undefined ? {} : { netnsFd }));
  }

  close(): void {
    this.socket.close();
  }

  nextSeq(count = 1): number {
    const seq = this.seq;
    this.seq += count;
    return seq;
  }

  /** NFT_MSG_GETGEN: the ruleset generation, for NFNL_BATCH_GENID. */
  async generation(): Promise<number> {
    const items = await this.request(encodeGetGen(this.nextSeq()), 'reading the ruleset generation', true);
    const gen = items.find((m) => m.kind === 'gen');
    if (!gen || gen.kind !== 'gen') throw new KernelError('the kernel did not report a ruleset generation', 0, 'EPROTO');
    return gen.gen.id;
  }

  /**
   * Send one batch. The kernel processes it inside sendmsg, so its answers are queued when send
   * returns; only a slow path (module autoload replays) needs a wait for the final ACK.
   *
   * With `meanwhile`, a batch larger than `inlineMaxBytes` is sent from a worker thread and
   * `meanwhile` runs on this one while the kernel works; a smaller one is sent from this thread,
   * then `meanwhile` runs. It must not throw: its exception would take the place of the batch's
   * outcome, which is then unknown to the caller (thrown once the send has returned).
   */
  async batch(encoded: EncodedBatch, meanwhile?: () => void, inlineMaxBytes = INLINE_SEND_MAX_BYTES): Promise<BatchOutcome> {
    if (meanwhile) await this.sendWhile(encoded.bytes, meanwhile, inlineMaxBytes);
    else this.socket.send(encoded.bytes);
    const datagrams: Uint8Array[] = [...this.socket.drain()];
    let outcome = batchOutcome(datagrams, encoded.messages);
    while (!outcome.complete && outcome.errors.length === 0) {
      const next = await this.socket.receive(REPLY_TIMEOUT_MS);
      if (!next) throw new KernelError('the kernel did not answer the batch', 0, 'ETIMEDOUT');
      datagrams.push(next, ...this.socket.drain());
      outcome = batchOutcome(datagrams, encoded.messages);
    }
    return outcome;
  }

  private async sendWhile(bytes: Uint8Array, meanwhile: () => void, inlineMaxBytes: number): Promise<void> {
    const sent = bytes.byteLength <= inlineMaxBytes ? this.sendInline(bytes) : this.socket.sendAsync(bytes);
    try {
      meanwhile();
    } catch (error) {
      await sent.catch(() => undefined);
      throw new Error(`internal error while the kernel processed the batch (it may have been applied): ${(error as Error)?.message ?? error}`, { cause: error });
    }
    await sent;
  }

  /** send() with sendAsync's outcome: a promise that holds its error, if any. */
  private sendInline(bytes: Uint8Array): Promise<void> {
    try {
      this.socket.send(bytes);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Send a GET and collect its answer: a dump ends with NLMSG_DONE (or an error/ACK); a `single`
   * request without NLM_F_ACK (GETGEN) is answered by exactly one message.
   */
  async request(bytes: Uint8Array, what: string, single = false): Promise<DecodedMessage[]> {
    const collector = new DumpCollector(requestSeq(bytes));
    await this.collect(bytes, what, collector, single);
    return collector.items;
  }

  /**
   * Send a dump request and hand each answering message to `onMessage` as its datagram arrives,
   * undecoded; nothing is kept. Errors as request().
   */
  async dump(bytes: Uint8Array, what: string, onMessage: (message: NetlinkMessage) => void): Promise<void> {
    await this.collect(bytes, what, new DumpCollector(requestSeq(bytes), false, onMessage));
  }

  /**
   * Datagrams are read DRAIN_AT_ONCE at a time and each is handed to the collector once, as it
   * arrives: reading a queued part of a dump makes the kernel queue the next, so a dump is never
   * held whole.
   */
  private async collect(bytes: Uint8Array, what: string, collector: DumpCollector, single = false): Promise<void> {
    this.socket.send(bytes);
    for (;;) {
      let datagrams = this.socket.drain(DRAIN_AT_ONCE);
      if (datagrams.length === 0) {
        const next = await this.socket.receive(REPLY_TIMEOUT_MS);
        if (!next) throw new KernelError(`${what}: the kernel stopped answering`, 0, 'ETIMEDOUT');
        datagrams = [next];
      }
      for (const datagram of datagrams) {
        collector.add(datagram);
        if (collector.error) throw KernelError.from(what, collector.error);
        if (collector.interrupted) throw new KernelError(`${what}: the ruleset changed during the dump`, ERRNO.EINTR, 'EINTR');
        if (collector.done || (single && collector.items.length > 0)) return;
      }
    }
  }
}

/** nlmsg_seq of a request: its answers carry it. */
function requestSeq(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
}
