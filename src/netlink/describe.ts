// Human text for what a netlink message or attribute came from, in nft's own words, so that
// a kernel error reads `map "connect4_exact" element 192.0.2.10 . tcp . 3128 : "browser_client"`.

import type { MapElement, ObjectMap } from '../compile/ir.js';
import { elementText, statementText } from '../emit/nft-text.js';

export { statementText };

export function elementWhat(map: ObjectMap, element: MapElement): string {
  return `map "${map.name}" element ${elementText(element)}`;
}
