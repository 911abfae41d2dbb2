// The packet rules of the loaded policy for one domain, through setools' sesearch.

import { parsePacketRules, type PacketRule } from './sesearch-parse.js';
import { runTool } from './tools.js';
import { SecmarkcError } from '../errors.js';

export class SesearchError extends SecmarkcError {
  constructor(message: string) {
    super('SMC111', message);
  }
}

/**
 * `sesearch -A -s DOMAIN -c packet [POLICY]`: rules whose source is DOMAIN or an attribute it has,
 * in the loaded policy or the binary policy file POLICY.
 */
export function packetRulesOf(domain: string, policyFile?: string): PacketRule[] {
  const r = runTool('sesearch', ['-A', '-s', domain, '-c', 'packet', ...(policyFile === undefined ? [] : [policyFile])]);
  if (r.status !== 0) {
    if (/is not a valid type/.test(r.stdout)) throw new SesearchError(`${policyFile ?? 'the loaded policy'} has no type or attribute "${domain}"`);
    throw new SesearchError(`sesearch -A -s ${domain} -c packet failed (exit ${r.status}): ${r.stdout.trim().split('\n').slice(-3).join(' | ')}`);
  }
  return parsePacketRules(r.stdout);
}
