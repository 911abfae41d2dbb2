// Counter readings that prove the rules saw the benchmark's traffic: the loadgen's named object
// (one packet per labelled new connection) and the anonymous counter of the output chain's
// restore rule (every packet of an established connection). Read over our own netlink session,
// filtered by table and chain in the kernel: `nft list counter` builds a cache of the whole
// table first, which takes ~10 s with 100,000 linear rules.

import { KernelError, NetfilterSession } from '../../src/apply/session.js';
import { encodeDumpObjects, encodeDumpRules } from '../../src/netlink/requests.js';

export interface Hits { labelled: number; restored: number }

export async function readHits(table: string, object: string): Promise<Hits> {
  const session = NetfilterSession.open();
  try {
    const objects = await session.request(encodeDumpObjects({ seq: session.nextSeq(), table }), 'listing objects');
    const rules = await session.request(encodeDumpRules({ seq: session.nextSeq(), table, chain: 'output' }), 'listing rules');
    let labelled = 0;
    let restored = 0;
    for (const m of objects) {
      if (m.kind === 'obj' && m.obj.name === object && m.obj.data.kind === 'counter') labelled = Number(m.obj.data.packets);
    }
    for (const m of rules) {
      if (m.kind !== 'rule' || !m.rule.comment?.includes('restore')) continue;
      for (const e of m.rule.expressions) if (e.kind === 'counter') restored = Number(e.packets ?? 0n);
    }
    return { labelled, restored };
  } catch (error) {
    if (error instanceof KernelError && error.errnoName === 'ENOENT') return { labelled: 0, restored: 0 }; // no table
    throw error;
  } finally {
    session.close();
  }
}
