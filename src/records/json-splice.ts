// JSON text with large string values spliced in as bytes: the applied-policy record's element rows
// (megabytes) go to the file as the Buffers they were built in, and only the small rest of the
// record is ever a JavaScript string.

import { randomBytes } from 'node:crypto';

/**
 * `JSON.stringify(value, replacer)` as UTF-8 Buffers, in order. Where `blockOf` returns bytes for a
 * value, those bytes stand for the content of a JSON string (between its quotes): the caller
 * guarantees they are that content already escaped. Written one after the other, the Buffers are
 * exactly the text JSON.stringify would give with those strings in place.
 */
export function stringifySpliced(
  value: unknown,
  replacer: (this: unknown, key: string, value: unknown) => unknown,
  blockOf: (value: unknown) => Uint8Array | undefined,
): Buffer[] {
  // Each block becomes this string, which nothing else in the text can contain by chance (64 random bits), then the text is cut there.
  const placeholder = `splice-${randomBytes(8).toString('hex')}`;
  const blocks: Uint8Array[] = [];
  const text = JSON.stringify(value, function (this: unknown, key: string, v: unknown): unknown {
    const block = blockOf(v);
    if (block === undefined) return replacer.call(this, key, v);
    blocks.push(block);
    return placeholder;
  });
  const pieces = text.split(placeholder);
  if (pieces.length !== blocks.length + 1) throw new Error(`internal error: ${pieces.length - 1} splice points in the JSON text for ${blocks.length} blocks`);
  const out: Buffer[] = [];
  for (let i = 0; i < blocks.length; i++) out.push(Buffer.from(pieces[i]!, 'utf8'), Buffer.from(blocks[i]!.buffer, blocks[i]!.byteOffset, blocks[i]!.byteLength));
  out.push(Buffer.from(pieces[blocks.length]!, 'utf8'));
  return out;
}
