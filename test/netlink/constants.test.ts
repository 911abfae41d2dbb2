// Our constants carry the kernel's names; this checks their values against the installed uapi
// headers (linux-libc-dev), so a typo in a name or value cannot hide. Skipped, visibly, without them.

import { existsSync, readFileSync } from 'node:fs';
import test from 'ava';
import * as nft from '../../src/netlink/nft/constants.js';
import * as wire from '../../src/netlink/wire/constants.js';

const HEADERS = ['/usr/include/linux/netlink.h', '/usr/include/linux/netfilter/nfnetlink.h', '/usr/include/linux/netfilter/nf_tables.h', '/usr/include/linux/netfilter.h'];
const missing = HEADERS.filter((h) => !existsSync(h));

/** NAME → value from `#define NAME number` and enum bodies (implicit and explicit values). */
function headerConstants(): Map<string, number> {
  const out = new Map<string, number>();
  for (const file of HEADERS) {
    const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
    for (const m of text.matchAll(/^#define\s+(\w+)\s+(0x[0-9a-fA-F]+|\d+)\b/gm)) out.set(m[1] as string, Number(m[2]));
    for (const body of text.matchAll(/enum\s*\w*\s*\{([\s\S]*?)\}/g)) {
      let next = 0;
      for (const raw of (body[1] as string).split(',')) {
        const item = raw.replace(/#define.*$/gm, '').trim();
        const m = /^(\w+)\s*(?:=\s*(.+))?$/.exec(item);
        if (!m) continue;
        const value = m[2] === undefined ? next : m[2].trim() in Object.fromEntries(out) ? (out.get(m[2].trim()) as number) : Number(m[2].trim());
        if (Number.isNaN(value)) continue;
        out.set(m[1] as string, value);
        next = value + 1;
      }
    }
  }
  return out;
}

const title = 'constants: every name that the uapi headers define has the headers\' value';
(missing.length ? test.skip : test)(missing.length ? `${title} [skipped: ${missing.join(', ')} missing]` : title, (t) => {
  const header = headerConstants();
  let checked = 0;
  for (const [name, value] of Object.entries({ ...wire, ...nft })) {
    if (typeof value !== 'number' || !header.has(name)) continue;
    t.is<unknown, unknown>(value, header.get(name), name);
    checked++;
  }
  // Most of ours are uapi names; a handful are libnftnl/nftables userspace ones (udata, datatypes).
  t.true(checked > 150, `only ${checked} constants matched header names`);
});
