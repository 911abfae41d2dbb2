// Parsers for setools' seinfo output (setools 4.4, as Debian 12 ships it). Pure: the text comes
// from runTool or from a fixture captured in the VM guest (test/fixtures/selinux/).

import { PORT_PROTOCOLS, type PortContext, type PortProtocol } from '../port-labels/port-table.js';
import { SecmarkcError } from '../errors.js';

/** `   portcon tcp 80 system_u:object_r:http_port_t:s0` or `... tcp 1024-65535 ...`. */
const PORTCON_LINE = /^\s*portcon\s+(\S+)\s+(\d+)(?:-(\d+))?\s+([^:\s]+):([^:\s]+):([^:\s]+)(?::\S+)?\s*$/;

export class SeinfoParseError extends SecmarkcError {
  constructor(what: string, line: number, text: string) {
    super('SMC111', `cannot read ${what} line ${line}: "${text.slice(0, 120)}"`);
  }
}

/** `seinfo --portcon`: every port context; protocols we do not label (none today) are left out. */
export function parsePortcons(text: string): PortContext[] {
  const out: PortContext[] = [];
  text.split('\n').forEach((line, i) => {
    const trimmed = line.trim();
    if (trimmed === '' || /^Portcon:\s*\d+$/.test(trimmed)) return;
    const m = PORTCON_LINE.exec(line);
    if (!m) throw new SeinfoParseError('seinfo --portcon', i + 1, trimmed);
    const protocol = m[1] as string;
    const from = Number(m[2]);
    const to = m[3] === undefined ? from : Number(m[3]);
    if (from > to || to > 65535) throw new SeinfoParseError('seinfo --portcon', i + 1, trimmed);
    if (!(PORT_PROTOCOLS as readonly string[]).includes(protocol)) return;
    out.push({ protocol: protocol as PortProtocol, from, to, portType: m[6] as string });
  });
  return out;
}

/**
 * `seinfo -a ATTRIBUTE -x`: the attribute's member types; undefined when the policy has no such
 * attribute ("Type Attributes: 0").
 */
export function parseAttributeMembers(text: string): string[] | undefined {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const count = /^Type Attributes:\s*(\d+)$/.exec(lines[0] ?? '');
  if (!count) throw new SeinfoParseError('seinfo -a -x', 1, lines[0] ?? '');
  if (count[1] === '0') return undefined;
  if (!/^attribute\s+\S+;$/.test(lines[1] ?? '')) throw new SeinfoParseError('seinfo -a -x', 2, lines[1] ?? '');
  return lines.slice(2).map((l, i) => {
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(l)) throw new SeinfoParseError('seinfo -a -x', i + 3, l);
    return l;
  });
}

