// Parse SELinux `tclass=packet` AVC lines out of a log: auditd's audit.log, the kernel ring buffer
// (dmesg, /dev/kmsg) or the journal. Pure: text in, records out. The AVC part is the same
// everywhere (the kernel formats it, security/lsm_audit.c); only the prefix before `avc:` differs:
//   type=AVC msg=audit(1700000000.123:45): avc:  denied  { send } for  saddr=...
//   [   12.345678] audit: type=1400 audit(1700000000.123:45): avc:  denied  { send } for  saddr=...
//   Nov 29 02:00:00 host kernel: audit: type=1400 audit(...): avc:  granted  { recv } for  saddr=...

import { parseAddress } from '../policy/address.js';
import { programPathProblem } from '../policy/program-path.js';

export type AvcVerdict = 'denied' | 'granted';
export type PacketPermission = 'send' | 'recv';

export interface PacketAvc {
  /** 1-based line number in the input. */
  readonly line: number;
  readonly verdict: AvcVerdict;
  readonly permissions: readonly PacketPermission[];
  readonly family: 'ipv4' | 'ipv6';
  readonly saddr: string;
  readonly daddr: string;
  /** Source / destination port; absent for packets without ports (ICMP). */
  readonly sport?: number;
  readonly dport?: number;
  readonly netif?: string;
  /** The type of scontext: the domain that sent or received the packet. */
  readonly domain: string;
  /** The type of tcontext: the packet's label. */
  readonly packetType: string;
  /** Seconds since the epoch from `audit(SECONDS.MILLIS:SERIAL)`, when the line has it. */
  readonly time?: number;
  readonly permissive?: boolean;
  /**
   * The executable of the process behind the packet: `exe=` of the SYSCALL record of the same
   * event (auditd's log: same `audit(TIME:SERIAL)`), when the log has it and it is a valid program path.
   */
  readonly exe?: string;
}

export interface MalformedLine {
  readonly line: number;
  readonly reason: string;
  readonly text: string;
}

export interface AvcParseResult {
  readonly avcs: readonly PacketAvc[];
  readonly malformed: readonly MalformedLine[];
  /** Lines that are not packet AVCs (other classes, other messages): not our business. */
  readonly ignored: number;
}

const AVC = /avc:\s+(denied|granted)\s+\{([^}]*)\}\s+for\s+(.*)$/;
const TIMESTAMP = /audit\((\d+(?:\.\d+)?):\d+\)/;
const FIELD = /([A-Za-z_]+)=("[^"]*"|\S+)/g;
const PERMISSIONS: ReadonlySet<string> = new Set(['send', 'recv']);
/** SELinux type names as refpolicy writes them (same alphabet as src/policy/names.ts). */
const TYPE = /^[A-Za-z][A-Za-z0-9_]*$/;

export function parsePacketAvcs(text: string): AvcParseResult {
  const avcs: PacketAvc[] = [];
  const malformed: MalformedLine[] = [];
  let ignored = 0;
  const lines = text.split('\n');
  const exes = executablesByEvent(lines);
  lines.forEach((raw, index) => {
    // auditd's enriched format appends the translated fields after a GS (0x1d) separator.
    const line = raw.split('\x1d')[0]!.trimEnd();
    if (!/\btclass=packet\b/.test(line)) {
      if (line !== '') ignored++;
      return;
    }
    const parsed = parseLine(line, index + 1);
    if (typeof parsed === 'string') malformed.push({ line: index + 1, reason: parsed, text: line.slice(0, 300) });
    else {
      const exe = exes.get(EVENT.exec(line)?.[1] ?? '');
      avcs.push(exe === undefined ? parsed : { ...parsed, exe });
    }
  });
  return { avcs, malformed, ignored };
}

/** One packet AVC, or why it cannot be read. */
function parseLine(line: string, lineNumber: number): PacketAvc | string {
  const avc = AVC.exec(line);
  if (!avc) return 'no "avc: denied|granted { PERM } for" part';
  const permissions = avc[2]!.trim().split(/\s+/).filter(Boolean);
  if (permissions.length === 0 || !permissions.every((p) => PERMISSIONS.has(p))) {
    return `permissions { ${avc[2]!.trim()} } are not send/recv`;
  }
  const fields = new Map<string, string>();
  for (const m of avc[3]!.matchAll(FIELD)) if (!fields.has(m[1]!)) fields.set(m[1]!, m[2]!);

  const saddr = fields.get('saddr');
  const daddr = fields.get('daddr');
  if (saddr === undefined || daddr === undefined) return 'saddr or daddr missing';
  const sourceFamily = addressFamily(saddr);
  const destinationFamily = addressFamily(daddr);
  if (!sourceFamily) return `saddr "${saddr}" is not an address`;
  if (!destinationFamily) return `daddr "${daddr}" is not an address`;
  if (sourceFamily !== destinationFamily) return 'saddr and daddr are of different families';

  const sport = port(fields.get('src'));
  const dport = port(fields.get('dest'));
  if (sport === null) return `src "${fields.get('src')}" is not a port`;
  if (dport === null) return `dest "${fields.get('dest')}" is not a port`;

  const domain = contextType(fields.get('scontext'));
  const packetType = contextType(fields.get('tcontext'));
  if (!domain) return `scontext "${fields.get('scontext') ?? ''}" has no valid type`;
  if (!packetType) return `tcontext "${fields.get('tcontext') ?? ''}" has no valid type`;

  const time = TIMESTAMP.exec(line);
  const permissive = fields.get('permissive');
  return {
    line: lineNumber,
    verdict: avc[1] as AvcVerdict,
    permissions: permissions as PacketPermission[],
    family: sourceFamily,
    saddr,
    daddr,
    ...(sport === undefined ? {} : { sport }),
    ...(dport === undefined ? {} : { dport }),
    ...(fields.has('netif') ? { netif: fields.get('netif')! } : {}),
    domain,
    packetType,
    ...(time ? { time: Number(time[1]) } : {}),
    ...(permissive === undefined ? {} : { permissive: permissive === '1' }),
  };
}

const EVENT = /audit\((\d+(?:\.\d+)?:\d+)\)/;
const EXE = /\bexe="([^"]*)"/;

/** `exe=` of the SYSCALL records, by event (`TIME:SERIAL`); only paths a policy could list. */
function executablesByEvent(lines: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of lines) {
    if (!line.includes('exe="')) continue;
    const event = EVENT.exec(line)?.[1];
    const exe = EXE.exec(line)?.[1];
    if (event !== undefined && exe !== undefined && programPathProblem(exe) === undefined) out.set(event, exe);
  }
  return out;
}

function addressFamily(text: string): 'ipv4' | 'ipv6' | undefined {
  if (/[/-]/.test(text)) return undefined;
  const parsed = parseAddress(text);
  return parsed.ok ? parsed.range.family : undefined;
}

/** undefined = absent, null = present but not a port. */
function port(text: string | undefined): number | undefined | null {
  if (text === undefined) return undefined;
  if (!/^\d{1,5}$/.test(text)) return null;
  const n = Number(text);
  return n >= 1 && n <= 65535 ? n : null;
}

/** `user:role:type[:level]` → type, if it is a valid type name. */
function contextType(context: string | undefined): string | undefined {
  const type = context?.split(':')[2];
  return type !== undefined && TYPE.test(type) ? type : undefined;
}
