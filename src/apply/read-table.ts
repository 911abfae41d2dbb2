// Reading our table back from the kernel: objects (with counters), maps and their elements,
// chains and rules (with their counters and comments). Used by `status` and by tests. Map
// elements are folded into an ElementSet as the dump's datagrams arrive (see element-set.ts).

import type { NftChain } from '../netlink/nft/chain.js';
import type { NftObj } from '../netlink/nft/obj.js';
import type { NftRule } from '../netlink/nft/rule.js';
import type { NftSet } from '../netlink/nft/set.js';
import { isSetElemMessage } from '../netlink/decode/message.js';
import { encodeDumpChains, encodeDumpObjects, encodeDumpRules, encodeDumpSetElements, encodeDumpSets, encodeDumpTables } from '../netlink/requests.js';
import { ElementSet } from './element-set.js';
import type { NetfilterSession } from './session.js';

export interface LiveTable {
  readonly name: string;
  readonly objects: readonly NftObj[];
  readonly sets: readonly { readonly set: NftSet; readonly elements: ElementSet }[];
  readonly chains: readonly NftChain[];
  readonly rules: readonly NftRule[];
}

/** Our table as the kernel has it, or undefined if it does not exist. */
export async function readTable(session: NetfilterSession, table: string): Promise<LiveTable | undefined> {
  const tables = await session.request(encodeDumpTables({ seq: session.nextSeq() }), 'listing tables');
  if (!tables.some((m) => m.kind === 'table' && m.table.name === table)) return undefined;

  const objects = (await session.request(encodeDumpObjects({ seq: session.nextSeq(), table }), 'listing objects')).flatMap((m) =>
    m.kind === 'obj' && m.obj.table === table ? [m.obj] : [],
  );
  const setList = (await session.request(encodeDumpSets({ seq: session.nextSeq(), table }), 'listing maps')).flatMap((m) =>
    m.kind === 'set' && m.set.table === table ? [m.set] : [],
  );
  const sets = [];
  for (const set of setList) {
    const elements = new ElementSet();
    await session.dump(encodeDumpSetElements({ seq: session.nextSeq(), table, set: set.name }), `listing map ${set.name}`, (m) => {
      if (isSetElemMessage(m)) elements.addMessage(m);
    });
    sets.push({ set, elements });
  }
  const chains = (await session.request(encodeDumpChains({ seq: session.nextSeq() }), 'listing chains')).flatMap((m) =>
    m.kind === 'chain' && m.chain.table === table ? [m.chain] : [],
  );
  const rules = (await session.request(encodeDumpRules({ seq: session.nextSeq(), table }), 'listing rules')).flatMap((m) =>
    m.kind === 'rule' && m.rule.table === table ? [m.rule] : [],
  );
  return { name: table, objects, sets, chains, rules };
}
