// Our encoding of each IR case equals, byte for byte, the batch nft(8) 1.0.6 sends for the
// equivalent text (test/fixtures/wire/<case>.nft → <case>.txt). UPDATE_GOLDEN=1 recaptures.
//
// Normalisations, each because the difference is deliberate:
// - NLM_F_ACK: we ask for an ACK on the last message before BATCH_END (it marks the end of
//   the kernel's answers); nft -f asks for none. The bit is cleared on our side (withoutAck).
// - Sequence numbers: we encode with seqStart 0, as nft does; nothing to rewrite.
// - Set ids: nft numbers the sets of a batch 1, 2, ... in order, as we do; nothing to rewrite.
// - Userdata: we send what nft sends (rule comments, set key byte order/typeof); nothing to drop.

import { join } from 'node:path';
import test from 'ava';
import { compilePolicy } from '../../src/compile/compile.js';
import { emitNftText } from '../../src/emit/nft-text.js';
import { encodeRuleset } from '../../src/netlink/encode-ruleset.js';
import { NLM_F_ACK } from '../../src/netlink/wire/constants.js';
import { parseMessages } from '../../src/netlink/wire/message.js';
import { cases, readPolicy, readPortTable } from '../helpers/fixtures.js';
import { GOLDEN_CASES } from './golden-cases.js';
import { captureBatch, captureSkipReason, formatFixture, readFixture, sideBySide, WIRE_FIXTURES, withoutAck, writeFixture } from './helpers/golden.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';

const UPDATE = process.env.UPDATE_GOLDEN === '1';
const skip = captureSkipReason();

function compare(ours: Uint8Array, theirs: Uint8Array): string | undefined {
  if (ours.length === theirs.length && ours.every((b, i) => b === theirs[i])) return undefined;
  return sideBySide(ours, theirs);
}

for (const c of GOLDEN_CASES) {
  const nftFile = join(WIRE_FIXTURES, `${c.name}.nft`);
  if (UPDATE) {
    test.serial(`wire/${c.name}: recapture from nft`, (t) => {
      if (skip) return t.fail(`cannot recapture: ${skip}`);
      const { bytes } = captureBatch(nftFile);
      writeFixture(c.name, formatFixture(nftFile, bytes, c.note));
      t.pass();
    });
  }

  test(`wire/${c.name}: our batch equals nft's`, (t) => {
    const { bytes } = encodeRuleset(c.ir, { mode: c.mode, seqStart: 0 });
    const diff = compare(withoutAck(bytes), readFixture(c.name));
    t.true(diff === undefined, `our encoding differs from ${c.name}.txt:\n${diff}`);
  });
}

test('wire: exactly one message asks for an ACK, the last before BATCH_END', (t) => {
  for (const c of GOLDEN_CASES) {
    const msgs = parseMessages(encodeRuleset(c.ir, { mode: c.mode }).bytes);
    const acked = msgs.flatMap((m, i) => ((m.flags & NLM_F_ACK) !== 0 ? [i] : []));
    t.deepEqual(acked, [msgs.length - 2], c.name);
  }
});

// Every valid policy fixture, compiled and encoded, against nft's bytes for the compiler's own
// nft text (captured live; the secmark objects are refused by this kernel after nft sent them).
for (const { name, dir } of cases('valid')) {
  const title = `wire/valid/${name}: encoding the compiled policy equals nft's batch for the emitted text`;
  (skip ? test.skip : test)(skip ? `${title} [skipped: ${skip}]` : title, (t) => {
    const compiled = compilePolicy(readPolicy(dir), 'policy.yaml', readPortTable(dir));
    if (!compiled.ok) return t.fail('fixture does not compile');
    const ruleset = compiled.compiled.ruleset;
    const tmp = mkdtempSync(join(tmpdir(), 'secmarkc-wire-'));
    try {
      const file = join(tmp, 'ruleset.nft');
      writeFileSync(file, emitNftText(ruleset));
      const theirs = captureBatch(file).bytes;
      const diff = compare(withoutAck(encodeRuleset(ruleset, { mode: 'replace', seqStart: 0 }).bytes), theirs);
      t.true(diff === undefined, `differs from nft:\n${diff}`);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
}
