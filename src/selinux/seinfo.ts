// Questions to the loaded SELinux policy (or a binary policy file) through setools' seinfo (a
// child process edge).

import { derivePortTable, type PortTable } from '../port-labels/port-table.js';
import { parseAttributeMembers, parsePortcons } from './seinfo-parse.js';
import { runTool } from './tools.js';
import { SecmarkcError } from '../errors.js';

export class SeinfoError extends SecmarkcError {
  constructor(args: readonly string[], output: string, status: number | null) {
    super('SMC111', `seinfo ${args.join(' ')} failed (exit ${status}): ${output.trim().split('\n').slice(-3).join(' | ')}`);
  }
}

function seinfo(args: readonly string[]): string {
  const r = runTool('seinfo', args);
  if (r.status !== 0) throw new SeinfoError(args, r.stdout, r.status);
  return r.stdout;
}

/** Member types of an attribute, or undefined if ATTRIBUTE is not an attribute (loaded policy, or POLICY file). */
export function attributeMembers(attribute: string, policyFile?: string): string[] | undefined {
  return parseAttributeMembers(seinfo(['-a', attribute, '-x', ...(policyFile === undefined ? [] : [policyFile])]));
}

/**
 * The port table of the loaded policy, or of the binary policy file POLICY (portcon includes
 * `semanage port` changes: they are compiled in).
 */
export function policyPortTable(policyFile?: string): PortTable {
  // The file first: `--portcon` takes an optional port and would read the file name as one.
  const portcons = parsePortcons(seinfo([...(policyFile === undefined ? [] : [policyFile]), '--portcon']));
  return derivePortTable(portcons, attributeMembers('client_packet_type', policyFile) ?? [], attributeMembers('server_packet_type', policyFile) ?? []);
}
