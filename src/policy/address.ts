// Address, prefix and range parsing for policy peers. Parsing is ipaddr.js's; this file only
// turns its results into inclusive numeric intervals and explains what is wrong with bad input.

import ipaddr from 'ipaddr.js';

export interface ParsedRange {
  readonly family: 'ipv4' | 'ipv6';
  readonly start: bigint;
  readonly end: bigint;
  readonly prefixLength?: number;
}

export type AddressResult =
  | { readonly ok: true; readonly range: ParsedRange }
  | { readonly ok: false; readonly code: 'SMC020' | 'SMC022' | 'SMC097'; readonly message: string };

export function familyBits(family: 'ipv4' | 'ipv6'): number {
  return family === 'ipv4' ? 32 : 128;
}

/** `text` without the ASCII spaces and tabs around it (String.trim would also take U+00A0, U+2028 ...). */
export function trimAscii(text: string): string {
  return text.replace(/^[ \t]+|[ \t]+$/g, '');
}

/** The first character outside printable ASCII, as `U+XXXX`: an address or port entry has none. */
export function notAscii(text: string): string | undefined {
  const c = /[^\x20-\x7e]/u.exec(text)?.[0];
  return c === undefined ? undefined : `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** `192.0.2.1`, `192.0.2.0/24`, `2001:db8::/32`, `192.0.2.1-192.0.2.9`. */
export function parseAddress(text: string): AddressResult {
  const trimmed = trimAscii(text);
  // Other white space (U+00A0, U+2028, ...) is not trimmed silently: it is not what the eye reads.
  const foreign = notAscii(trimmed.replace(/\t/g, ' '));
  if (foreign) return bad(`"${text}": ${foreign} is not part of an address (only ASCII spaces and tabs may surround one)`);
  if (trimmed.includes('-')) return parseRange(trimmed);
  if (trimmed.includes('/')) return parsePrefix(trimmed);
  const single = parseSingle(trimmed);
  if (!single) return bad(`"${text}" is not an IPv4 or IPv6 address`);
  const bits = familyBits(single.family);
  return { ok: true, range: { family: single.family, start: single.value, end: single.value, prefixLength: bits } };
}

function parseRange(text: string): AddressResult {
  const [lowText = '', highText = '', ...rest] = text.split('-');
  const low = parseSingle(trimAscii(lowText));
  const high = parseSingle(trimAscii(highText));
  if (rest.length > 0 || !low || !high) return bad(`"${text}" is not an address range (expected FIRST-LAST)`);
  if (low.family !== high.family) return bad(`"${text}" mixes IPv4 and IPv6`);
  if (low.value > high.value) return bad(`"${text}" is reversed: the first address is above the last`);
  const prefixLength = exactPrefix(low.family, low.value, high.value);
  return { ok: true, range: { family: low.family, start: low.value, end: high.value, ...(prefixLength === undefined ? {} : { prefixLength }) } };
}

function parsePrefix(text: string): AddressResult {
  const [addrText = '', lenText = '', ...rest] = text.split('/');
  const addr = parseSingle(addrText);
  if (rest.length > 0 || !addr) return bad(`"${text}" is not an address prefix`);
  const bits = familyBits(addr.family);
  if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > bits) {
    return bad(`"${text}": prefix length must be 0 to ${bits}`);
  }
  // As in a port (SMC096): `/010` is 10 here, but 8 to a reader that takes a leading zero for octal.
  if (lenText.length > 1 && lenText.startsWith('0')) {
    return { ok: false, code: 'SMC097', message: `"${text}": prefix length ${lenText} has a leading zero; write ${Number(lenText)}` };
  }
  const length = Number(lenText);
  const hostMask = (1n << BigInt(bits - length)) - 1n;
  if ((addr.value & hostMask) !== 0n) {
    const network = formatAddress(addr.family, addr.value & ~hostMask);
    return { ok: false, code: 'SMC022', message: `"${text}" has host bits set; did you mean ${network}/${length}?` };
  }
  return { ok: true, range: { family: addr.family, start: addr.value, end: addr.value | hostMask, prefixLength: length } };
}

/**
 * One address. The common spellings (dotted quad without leading zeros, IPv6 of hex groups with
 * at most one `::`) are read here; ipaddr.js decides everything else. Its validity checks throw
 * and catch an Error per call (IPv4's for every IPv6 address), which cost ~40 µs an address in a
 * cold CLI: most of a policy's parse when it has thousands of IPv6 prefixes. The fast readers
 * accept only what ipaddr.js accepts, to the same value (test/address-fast.test.ts).
 */
export function parseSingle(text: string): { family: 'ipv4' | 'ipv6'; value: bigint } | undefined {
  const v4 = fastIPv4(text);
  if (v4 >= 0) return { family: 'ipv4', value: BigInt(v4) };
  const v6 = fastIPv6(text);
  if (v6 !== undefined) return { family: 'ipv6', value: v6 };
  return parseSingleByIpaddr(text);
}

/** ipaddr.js's reading of one address: the reference the fast readers are tested against. */
export function parseSingleByIpaddr(text: string): { family: 'ipv4' | 'ipv6'; value: bigint } | undefined {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) {
    return { family: 'ipv4', value: bytesToBigint(ipaddr.IPv4.parse(text).toByteArray()) };
  }
  // Zone ids (fe80::1%eth0) name an interface, not a peer: refuse them.
  if (!text.includes('%') && ipaddr.IPv6.isValid(text)) {
    return { family: 'ipv6', value: bytesToBigint(ipaddr.IPv6.parse(text).toByteArray()) };
  }
  return undefined;
}

const DOT = 0x2e;

/** `a.b.c.d` (decimal, no leading zeros, each ≤ 255) as a number; -1 for anything else. */
function fastIPv4(text: string): number {
  const n = text.length;
  if (n < 7 || n > 15) return -1;
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === DOT) {
      if (digits === 0 || ++dots > 3) return -1;
      value = value * 256 + part;
      part = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits === 1 && part === 0) return -1; // a leading zero
      part = part * 10 + (c - 0x30);
      if (++digits > 3 || part > 255) return -1;
    } else return -1;
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + part;
}

/** Hex groups of 1-4 digits separated by `:`, at most one `::` standing for ≥ 1 zero groups; undefined for anything else. */
function fastIPv6(text: string): bigint | undefined {
  if (text.length < 2 || text.length > 39) return undefined;
  const gap = text.indexOf('::');
  if (gap >= 0 && text.indexOf('::', gap + 1) >= 0) return undefined;
  const head = hexGroups(gap < 0 ? text : text.slice(0, gap));
  const tail = gap < 0 ? '' : hexGroups(text.slice(gap + 2));
  if (head === undefined || tail === undefined) return undefined;
  const groups = (head.length + tail.length) / 4;
  if (gap < 0 ? groups !== 8 : groups > 7) return undefined;
  return BigInt(`0x${head}${'0000'.repeat(8 - groups)}${tail}`);
}

const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/** `g:g:...` as 4-digit groups run together; '' for ''; undefined if a group is not 1-4 hex digits. */
function hexGroups(text: string): string | undefined {
  if (text === '') return '';
  const groups = text.split(':');
  let hex = '';
  for (let i = 0; i < groups.length; i++) {
    const group = groups[i]!;
    if (!HEX_GROUP.test(group)) return undefined;
    hex += '000'.slice(group.length - 1) + group;
  }
  return hex;
}

/** The prefix length if [start, end] is exactly one prefix. */
export function exactPrefix(family: 'ipv4' | 'ipv6', start: bigint, end: bigint): number | undefined {
  const bits = familyBits(family);
  const size = end - start + 1n;
  if ((size & (size - 1n)) !== 0n) return undefined;
  const hostBits = size.toString(2).length - 1;
  if ((start & (size - 1n)) !== 0n) return undefined;
  return bits - hostBits;
}

export function bytesToBigint(bytes: readonly number[] | Uint8Array): bigint {
  let value = 0n;
  for (let i = 0; i < bytes.length; i++) value = (value << 8n) | BigInt(bytes[i]!);
  return value;
}

/**
 * Network byte order, 4 or 16 bytes. An address is read from its hex text: a BigInt operation per
 * byte allocates a BigInt in V8's interpreter and baseline tiers (~0.9 KB an IPv6 address, 17 MB of
 * garbage for 10,000 prefixes). Values outside the family's range (none of ours) keep the low
 * bytes, two's complement for a negative one, as the byte loop gives them.
 */
export function bigintToBytes(family: 'ipv4' | 'ipv6', value: bigint): Uint8Array {
  const length = family === 'ipv4' ? 4 : 16;
  const out = new Uint8Array(length);
  if (value >= 0n && value < (family === 'ipv4' ? IPV4_END : IPV6_END)) {
    const hex = value.toString(16);
    for (let i = 0, digit = hex.length - 2 * length; i < length; i++, digit += 2) {
      out[i] = (digit >= 0 ? hexValue(hex.charCodeAt(digit)) << 4 : 0) | (digit + 1 >= 0 ? hexValue(hex.charCodeAt(digit + 1)) : 0);
    }
    return out;
  }
  let v = value;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

const IPV4_END = 1n << 32n;
const IPV6_END = 1n << 128n;

/** A lower-case hex digit's value (BigInt's toString(16) writes no other). */
function hexValue(code: number): number {
  return code <= 0x39 ? code - 0x30 : code - 0x57;
}

/** Canonical text (RFC 5952 for IPv6), as nft prints it. */
export function formatAddress(family: 'ipv4' | 'ipv6', value: bigint): string {
  const bytes = Array.from(bigintToBytes(family, value));
  return family === 'ipv4'
    ? ipaddr.fromByteArray(bytes).toString()
    : (ipaddr.fromByteArray(bytes) as ipaddr.IPv6).toRFC5952String();
}

function bad(message: string): AddressResult {
  return { ok: false, code: 'SMC020', message };
}
