// emitNftJson: IR → the libnftables JSON schema, in the shape `nft -j list ruleset` prints
// (without handles and with zero counters), so tools that read nft's JSON read ours.

import type { KeyPart, KeySelector, ObjectMap, Rule, Ruleset, Statement } from '../compile/ir.js';
import { addrText, protocolName } from './element-text.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const ICMPV6_TYPE_NAMES: Readonly<Record<number, string>> = {
  133: 'nd-router-solicit',
  134: 'nd-router-advert',
  135: 'nd-neighbor-solicit',
  136: 'nd-neighbor-advert',
  137: 'nd-redirect',
};

export function nftJsonObjects(ruleset: Ruleset): Json[] {
  const family = ruleset.family;
  const table = ruleset.table;
  const out: Json[] = [{ table: { family, name: table } }];
  for (const object of ruleset.objects) {
    out.push(
      object.kind === 'secmark'
        ? { secmark: { family, name: object.name, table, context: object.context ?? '' } }
        : { counter: { family, name: object.name, table, packets: 0, bytes: 0 } },
    );
  }
  for (const map of ruleset.maps) out.push(mapJson(map, family, table));
  for (const chain of ruleset.chains) {
    out.push({ chain: { family, table, name: chain.name, type: 'filter', hook: chain.hook, prio: chain.priority, policy: chain.policy } });
  }
  for (const chain of ruleset.chains) {
    for (const rule of chain.rules) out.push(ruleJson(rule, family, table, chain.name));
  }
  return out;
}

export function emitNftJson(ruleset: Ruleset): string {
  return JSON.stringify({ nftables: [{ metainfo: { json_schema_version: 1 } }, ...nftJsonObjects(ruleset)] }, null, 2) + '\n';
}

function mapJson(map: ObjectMap, family: string, table: string): Json {
  const body: { [key: string]: Json } = { family, name: map.name, table, type: [...map.key], map: map.data };
  if (map.interval) body.flags = ['interval'];
  if (map.elements.length > 0) {
    body.elem = map.elements.map((e) => [{ concat: e.parts.map(partJson) }, e.object]);
  }
  return { map: body };
}

function partJson(part: KeyPart): Json {
  switch (part.kind) {
    case 'addr': {
      const a = addrText(part);
      if (a.kind === 'single') return a.addr;
      if (a.kind === 'prefix') return { prefix: { addr: a.addr, len: a.length } };
      return { range: [a.from, a.to] };
    }
    case 'proto':
      return protocolName(part.value);
    case 'port':
      return part.from === part.to ? part.from : { range: [part.from, part.to] };
  }
}

function ruleJson(rule: Rule, family: string, table: string, chain: string): Json {
  return { rule: { family, table, chain, comment: rule.comment, expr: rule.statements.map(statementJson) } };
}

function selectorJson(selector: KeySelector): Json {
  const [protocol = '', field = ''] = selector.split(' ');
  return protocol === 'meta' ? { meta: { key: field } } : { payload: { protocol, field } };
}

function statementJson(s: Statement): Json {
  switch (s.kind) {
    case 'ct-state':
      return { match: { op: 'in', left: { ct: { key: 'state' } }, right: s.states.length === 1 ? s.states[0]! : [...s.states] } };
    case 'icmpv6-type-range':
      return {
        match: {
          op: '==',
          left: { payload: { protocol: 'icmpv6', field: 'type' } },
          right: { range: [ICMPV6_TYPE_NAMES[s.from] ?? s.from, ICMPV6_TYPE_NAMES[s.to] ?? s.to] },
        },
      };
    case 'meta-secmark-from-ct':
      return { mangle: { key: { meta: { key: 'secmark' } }, value: { ct: { key: 'secmark' } } } };
    case 'ct-secmark-from-meta':
      return { mangle: { key: { ct: { key: 'secmark' } }, value: { meta: { key: 'secmark' } } } };
    case 'objref':
      return { [s.objType]: s.name };
    case 'objref-map':
      return { [s.objType]: { map: { key: { concat: s.key.map(selectorJson) }, data: `@${s.map}` } } };
    case 'counter':
      return { counter: { packets: 0, bytes: 0 } };
    case 'loopback':
      return { match: { op: '==', left: { meta: { key: s.key } }, right: 'lo' } };
    case 'accept':
      return { accept: null };
  }
}
