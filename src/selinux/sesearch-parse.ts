// Parser for `sesearch -A -s DOMAIN -c packet` (setools 4.4). Pure; tested on output captured in
// the VM guest. Rules may name attributes on either side; the caller expands them with seinfo.

import { SecmarkcError } from '../errors.js';

export interface PacketRule {
  readonly source: string;
  readonly target: string;
  readonly permissions: readonly string[];
  /** The boolean expression of a conditional rule (`[ bool ]:True`), if any. */
  readonly condition?: string;
  /** The line as sesearch printed it. */
  readonly text: string;
}

/** `allow SRC TGT:packet { recv send };` or `allow SRC TGT:packet send;`, optionally `[ cond ]:True`. */
const RULE = /^allow\s+(\S+)\s+(\S+):packet\s+(?:\{\s*([^}]*?)\s*\}|(\S+?))\s*;\s*(\[.*\]:\S+)?\s*$/;

export class SesearchParseError extends SecmarkcError {
  constructor(line: number, text: string) {
    super('SMC111', `cannot read sesearch output line ${line}: "${text.slice(0, 160)}"`);
  }
}

export function parsePacketRules(text: string): PacketRule[] {
  const out: PacketRule[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const m = RULE.exec(line);
    if (!m) throw new SesearchParseError(i + 1, line);
    const permissions = (m[3] ?? m[4] ?? '').split(/\s+/).filter((p) => p !== '');
    out.push({ source: m[1] as string, target: m[2] as string, permissions, ...(m[5] ? { condition: m[5] } : {}), text: line });
  });
  return out;
}
