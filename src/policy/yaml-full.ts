// The reference YAML front end: the `yaml` library, strict, with its precise syntax errors.
// Used when yaml-fast.ts declines (errors, aliases, anything unusual). Loaded on demand with
// require(), so that the common case does not pay for loading it.

import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';
import { trimEnd, type Pair, type YamlNode, type YamlParse } from './yaml-tree.js';

const require = createRequire(import.meta.url);

export function parseYamlFull(text: string): YamlParse {
  const yaml = require('yaml') as typeof Yaml;
  try {
    const doc = yaml.parseDocument(text, { uniqueKeys: false, prettyErrors: false, strict: true });
    if (doc.errors.length > 0) {
      return {
        ok: false,
        errors: doc.errors.map((e) => ({
          offset: e.pos[0],
          message: e.message.split('\n')[0] ?? 'YAML syntax error',
          // The composer turns its own stack overflow into this error.
          ...(e.code === 'RESOURCE_EXHAUSTION' ? { tooDeep: true } : {}),
        })),
      };
    }
    return { ok: true, root: doc.contents ? convert(yaml, text, doc.contents, text.length) : undefined };
  } catch (error) {
    // The CST parser recurses once per level a dedent closes and lets the overflow escape.
    // parsePolicy measures nesting first (nesting.ts), so this is the last line of defence.
    if (error instanceof RangeError) return { ok: false, errors: [{ offset: 0, message: error.message, tooDeep: true }] };
    throw error;
  }
}

/** `!!binary` for the YAML 1.2 tags, the tag as written otherwise; and where it starts. */
function tagOf(text: string, node: unknown, start: number): YamlNode['tag'] {
  const tag = (node as { tag?: string }).tag;
  if (tag === undefined) return undefined;
  const name = tag.startsWith('tag:yaml.org,2002:') ? `!!${tag.slice('tag:yaml.org,2002:'.length)}` : tag;
  // The library's range starts at the value; the tag is the last `!...` token before it.
  let at = text.lastIndexOf('!', start - 1);
  while (at > 0 && !/\s/.test(text[at - 1]!)) at--;
  return { name, start: Math.max(at, 0) };
}

function convert(yaml: typeof Yaml, text: string, node: unknown, fallback: number): YamlNode {
  const range = (node as { range?: [number, number, number] | null }).range;
  const start = range?.[0] ?? fallback;
  // The library's end of a block collection includes the line break after it; ours does not.
  const end = trimEnd(text, start, range?.[1] ?? fallback);
  if (yaml.isAlias(node)) return { kind: 'alias', start, end };
  const tag = tagOf(text, node, start);
  const tagged = tag ? { tag } : {};
  if (yaml.isSeq(node)) return { kind: 'seq', items: node.items.map((item) => convert(yaml, text, item, end)), start, end, ...tagged };
  if (yaml.isMap(node)) {
    const pairs: Pair[] = node.items.map((pair) => {
      const key = convert(yaml, text, pair.key, end);
      // `key:` with nothing after it: a null whose position is the key's end.
      const value = pair.value === null ? { kind: 'scalar' as const, value: null, start: key.end, end: key.end } : convert(yaml, text, pair.value, key.end);
      return { key, value };
    });
    return { kind: 'map', pairs, start, end, ...tagged };
  }
  if (yaml.isScalar(node)) {
    const v = node.value;
    const value = v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : String(v);
    return { kind: 'scalar', value, start, end, ...tagged };
  }
  return { kind: 'scalar', value: null, start, end };
}
