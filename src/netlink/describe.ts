// Human text for what a netlink message or attribute came from, in nft's own words, so that
// a kernel error reads `map "connect4" element 192.0.2.10 . tcp . 3128 : "browser_client"`.

import type { KeyPart, MapElement, ObjectMap } from '../compile/ir.js';
import { addrText, protocolName } from '../emit/element-text.js';
import { statementText } from '../emit/nft-text.js';

export { statementText };

function partText(part: KeyPart): string {
  switch (part.kind) {
    case 'addr': {
      const a = addrText(part);
      return a.kind === 'single' ? a.addr : a.kind === 'prefix' ? `${a.addr}/${a.length}` : `${a.from}-${a.to}`;
    }
    case 'proto':
      return protocolName(part.value);
    case 'port':
      return part.from === part.to ? String(part.from) : `${part.from}-${part.to}`;
  }
}

export function elementWhat(map: ObjectMap, element: MapElement): string {
  return `map "${map.name}" element ${element.parts.map(partText).join(' . ')} : "${element.object}"`;
}
