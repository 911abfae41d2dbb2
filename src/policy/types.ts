// The validated policy: what a policy file means, with the span of every node.
// Produced by parsePolicy; consumed by the compiler. Defaults are already filled in.

import type { ParsedRange } from './address.js';
import type { Span } from './span.js';

export type UnlabeledMode = 'allow' | 'audit' | 'deny';

/** `none`: only app rules label; `policy`: also the port labels of the loaded SELinux policy. */
export type PortsMode = 'none' | 'policy';

export interface Policy {
  readonly file: string;
  readonly version: 1;
  /** The one `inet` table we own; also prefixes generated type names and the CIL module name. */
  readonly table: Spanned<string>;
  readonly unlabeled: Spanned<UnlabeledMode>;
  /** MLS/MCS level of generated contexts, e.g. `s0`. */
  readonly level: Spanned<string>;
  /** Domains that create the secmark objects and so need `relabelto` on the packet types. */
  readonly loader: readonly Spanned<string>[];
  /** Domains that send IPv6 neighbour discovery (labelled statelessly); empty = not labelled. */
  readonly neighbourDiscovery: readonly Spanned<string>[];
  readonly ports: Spanned<PortsMode>;
  readonly apps: readonly App[];
}

export interface Spanned<T> {
  readonly value: T;
  readonly span: Span;
}

export interface App {
  readonly name: string;
  readonly span: Span;
  /** Existing domains that may use the app's traffic (`domain:`); may be empty when `programs` is not. */
  readonly domains: readonly Spanned<string>[];
  /** Executables (absolute paths, as written) that run in domains secmarkc generates (`programs:`). */
  readonly programs: readonly Spanned<string>[];
  /**
   * The domains whose exec of a program enters a generated domain: one generated domain per entry
   * (`run_from:`). `defaulted`: not written, so entries missing from the SELinux policy are skipped.
   */
  readonly runFrom: { readonly domains: readonly Spanned<string>[]; readonly defaulted: boolean };
  readonly connect: readonly TrafficRule[];
  readonly serve: readonly TrafficRule[];
}

/** One `connect` (peers = destinations) or `serve` (peers = sources) entry. */
export interface TrafficRule {
  readonly span: Span;
  /** Resolved addresses (groups expanded); `any` when the key was omitted. */
  readonly peers: readonly PeerRange[] | 'any';
  readonly ports: readonly PortEntry[];
}

/** A peer address as written in a rule: its inclusive interval, and where it came from. */
export interface PeerRange {
  /**
   * The parsed interval (family, start, end as numbers for fast comparison, prefix length when it
   * is exactly a prefix), shared by every occurrence of the same text: a key for per-interval work.
   */
  readonly range: ParsedRange;
  /** The text as written (or the group member), for messages. */
  readonly text: string;
  readonly span: Span;
}

export type Protocol = 'tcp' | 'udp' | 'sctp' | 'icmp' | 'icmpv6';

export interface PortEntry {
  readonly protocol: Protocol;
  /** Inclusive; ICMP entries carry 0-65535 (they have no ports). */
  readonly from: number;
  readonly to: number;
  readonly text: string;
  readonly span: Span;
}
