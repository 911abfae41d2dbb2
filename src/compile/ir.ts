// The intermediate representation: what the compiler produces from a policy and what every
// emitter (nft text, nft JSON, CIL) and the netlink encoder consume. Pure data, no behaviour.
// Every node records the policy span that produced it, so kernel errors map back to a line.

import type { Span } from '../policy/span.js';

/** The whole compiler output: both halves of the per-application filter. */
export interface CompiledPolicy {
  readonly ruleset: Ruleset;
  readonly module: CilModule;
}

// ---------------------------------------------------------------- nftables

/** One nft table of family inet (NFPROTO_INET), with everything in it. */
export interface Ruleset {
  /** NFTA_TABLE_NAME */
  readonly table: string;
  readonly family: 'inet';
  /** The policy file the ruleset came from, for the header comment. */
  readonly source: string;
  readonly span: Span;
  readonly objects: readonly NamedObject[];
  readonly maps: readonly ObjectMap[];
  readonly chains: readonly Chain[];
}

/**
 * Stateful object types we create. `secmark` is the product; `counter` stands in for it on
 * kernels without an LSM (host tests, benchmarks): same structure, same expressions.
 */
export type ObjectType = 'secmark' | 'counter';

/** NFT_MSG_NEWOBJ. */
export interface NamedObject {
  readonly kind: ObjectType;
  /** NFTA_OBJ_NAME */
  readonly name: string;
  /** NFTA_SECMARK_CTX, e.g. `system_u:object_r:secmarkc_browser_client_packet_t:s0` (secmark only). */
  readonly context?: string;
  readonly span: Span;
}

/** A field of a concatenated map key, in order. Each is padded to 4 bytes on the wire. */
export type KeyField = 'ipv4_addr' | 'ipv6_addr' | 'inet_proto' | 'inet_service';

/**
 * A named map from a concatenated key to a named object, with NFTA_SET_OBJ_TYPE (an object map
 * is not an NFT_SET_MAP). An interval map (NFT_SET_OBJECT | NFT_SET_INTERVAL | NFT_SET_CONCAT, as
 * nft sends it) is a pipapo set, whose lookup cost grows with its size; an exact map
 * (NFT_SET_OBJECT only) is a hash, looked up in constant time, and holds single keys only.
 */
export interface ObjectMap {
  readonly kind: 'map';
  /** NFTA_SET_NAME */
  readonly name: string;
  /** `flags interval`. When false every element's parts are single values (start = end). */
  readonly interval: boolean;
  readonly key: readonly KeyField[];
  /** NFTA_SET_OBJ_TYPE */
  readonly data: ObjectType;
  /** Sorted by key start; no two elements overlap (the compiler guarantees it). */
  readonly elements: readonly MapElement[];
  readonly span: Span;
}

/**
 * One element: an interval per key field, mapped to the object named `object`. In an exact map
 * each interval is a single value: an address part of full prefix length, a port part with
 * from = to.
 */
export interface MapElement {
  /** One part per key field, same order as ObjectMap.key. */
  readonly parts: readonly KeyPart[];
  /** NFTA_SET_ELEM_OBJREF */
  readonly object: string;
  /** The port entry that made it (the element of a port label: the `ports: policy` key). */
  readonly span: Span;
  /** Where its address was written (a peer, a group member); none for `any` and port labels. */
  readonly peer?: Span;
}

export type KeyPart = AddrPart | ProtoPart | PortPart;

export interface AddrPart {
  readonly kind: 'addr';
  readonly family: 'ipv4' | 'ipv6';
  /** First and last address of the interval, network byte order, 4 or 16 bytes. */
  readonly start: Uint8Array;
  readonly end: Uint8Array;
  /** Set when the interval is exactly a prefix (prints as `a/len`, or `a` at full length). */
  readonly prefixLength?: number;
}

export interface ProtoPart {
  readonly kind: 'proto';
  /** IANA protocol number (tcp 6, udp 17, sctp 132, icmp 1, icmpv6 58). */
  readonly value: number;
}

export interface PortPart {
  readonly kind: 'port';
  /** Inclusive range; `th dport` of ICMP reads the checksum, so ICMP entries use 0-65535. */
  readonly from: number;
  readonly to: number;
}

export type Hook = 'input' | 'output';

/** A base chain (NFTA_CHAIN_HOOK with NFTA_HOOK_HOOKNUM / NFTA_HOOK_PRIORITY). */
export interface Chain {
  /** NFTA_CHAIN_NAME */
  readonly name: string;
  readonly hook: Hook;
  /** NFTA_HOOK_PRIORITY */
  readonly priority: number;
  /**
   * NFTA_CHAIN_POLICY. A compiled policy only labels and SELinux decides, so it is always
   * `accept`; only the lockdown ruleset (src/compile/lockdown.ts) drops.
   */
  readonly policy: 'accept' | 'drop';
  readonly rules: readonly Rule[];
  readonly span: Span;
}

/** NFT_MSG_NEWRULE: statements run in order; a failed match or lookup ends the rule. */
export interface Rule {
  readonly statements: readonly Statement[];
  /** NFTA_RULE_USERDATA comment, also printed in nft text. */
  readonly comment: string;
  readonly span: Span;
}

export type CtState = 'new' | 'established' | 'related';

/** Fields a map key is read from; the encoder adds nft's implicit dependencies (nfproto). */
export type KeySelector = 'ip saddr' | 'ip daddr' | 'ip6 saddr' | 'ip6 daddr' | 'meta l4proto' | 'th dport';

export type Statement =
  /** `ct state new` / `ct state established,related`: ct load state, bitwise mask, cmp neq 0. */
  | { readonly kind: 'ct-state'; readonly states: readonly CtState[] }
  /** `icmpv6 type FROM-TO` (with the implied `meta l4proto icmpv6`). */
  | { readonly kind: 'icmpv6-type-range'; readonly from: number; readonly to: number }
  /** `meta secmark set ct secmark` (restore the connection's label onto the packet). */
  | { readonly kind: 'meta-secmark-from-ct' }
  /** `ct secmark set meta secmark` (save the packet's label into the connection). */
  | { readonly kind: 'ct-secmark-from-meta' }
  /** `meta secmark set "name"` / `counter name "name"`: objref by name. */
  | { readonly kind: 'objref'; readonly objType: ObjectType; readonly name: string }
  /** `meta secmark set KEY map @map`: objref through a map lookup. */
  | { readonly kind: 'objref-map'; readonly objType: ObjectType; readonly map: string; readonly key: readonly KeySelector[] }
  /** An anonymous counter, so `status` can show traffic per rule. */
  | { readonly kind: 'counter' }
  /** `iif "lo"` / `oif "lo"`: the loopback device, ifindex 1 in every namespace (LOOPBACK_IFINDEX). */
  | { readonly kind: 'loopback'; readonly key: 'iif' | 'oif' }
  /** `accept` (the lockdown ruleset's loopback exception). */
  | { readonly kind: 'accept' };

// ---------------------------------------------------------------- SELinux CIL

export type PacketRole = 'client' | 'server' | 'control';

/** The CIL module: packet types and the grants on them, nothing more. */
export interface CilModule {
  /** Module name for `semodule -i` (the file is written as NAME.cil). */
  readonly name: string;
  readonly source: string;
  readonly types: readonly PacketType[];
  readonly allows: readonly Grant[];
  readonly auditallows: readonly Grant[];
  /** Apps by program path: the types and domains generated for them. */
  readonly programs: readonly ProgramApp[];
}

/**
 * An app's `programs`: one executable file type for all its files, and one generated domain per
 * `run_from` parent, entered on exec of that type and holding the parent's rights minus every
 * packet permission (src/emit/program-domain.ts). The rights were read from the SELinux policy at
 * compile time and are kept here as CIL lines, so a record reinstalls exactly what was applied.
 */
export interface ProgramApp {
  readonly app: string;
  readonly execType: string;
  readonly span: Span;
  readonly files: readonly ProgramFile[];
  /** The sensitivity of the files' context (`s0`): the low level of the policy's `level`. */
  readonly fileLevel: string;
  readonly domains: readonly ProgramDomain[];
  /** The exec type and the domains: declarations, memberships, mirrored rules, entry path. */
  readonly cil: readonly string[];
}

export interface ProgramFile {
  /** The file that gets the label: the path as written, or where its symbolic links lead. */
  readonly path: string;
  /** The path as the policy writes it. */
  readonly written: string;
  readonly span: Span;
}

export interface ProgramDomain {
  readonly name: string;
  /** The `run_from` domain it is entered from, and whose rights (minus packets) it holds. */
  readonly parent: string;
  readonly span: Span;
}

export interface PacketType {
  readonly name: string;
  /** client (connect), server (serve) or control (neighbour discovery). Joins no attribute. */
  readonly role: PacketRole;
  readonly span: Span;
}

/** `(allow SOURCE TARGET (packet (PERMS)))`. */
export interface Grant {
  readonly source: string;
  readonly target: string;
  readonly permissions: readonly PacketPermission[];
  readonly span: Span;
}

export type PacketPermission = 'send' | 'recv' | 'relabelto';
