// One measurement in a fresh process (so that peak memory is this compile's alone and the first
// run is as cold as in a CLI): policy text → IR → nft text or netlink bytes, with the built
// library (dist/, `npm run build:ts`), as the CLI runs it. Prints JSON
// { coldMs, warmMs, peakMiB, elements, bytes }: coldMs is the first run, warmMs the fastest of
// the following ones (a long-running process calling the library).
//   node bench/compile-worker.mjs POLICY_FILE text|netlink [WARM_RUNS]

import { readFileSync } from 'node:fs';
import process from 'node:process';
import { compilePolicy } from '../dist/compile/compile.js';
import { emitNftText } from '../dist/emit/nft-text.js';
import { encodeRuleset } from '../dist/netlink/encode-ruleset.js';

const text = readFileSync(process.argv[2], 'utf8');
const path = process.argv[3] === 'netlink' ? 'netlink' : 'text';
const warmRuns = Number(process.argv[4] ?? 3);

function once() {
  const start = process.hrtime.bigint();
  const result = compilePolicy(text, 'bench.yaml');
  if (!result.ok) throw new Error('benchmark policy does not compile');
  const ruleset = result.compiled.ruleset;
  const bytes = path === 'text' ? emitNftText(ruleset).length : encodeRuleset(ruleset, { mode: 'replace' }).bytes.length;
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  return { ms, elements: ruleset.maps.reduce((n, m) => n + m.elements.length, 0), bytes };
}

const cold = once();
const peakMiB = process.resourceUsage().maxRSS / 1024;
let warmMs = Infinity;
for (let i = 0; i < warmRuns; i++) warmMs = Math.min(warmMs, once().ms);
process.stdout.write(JSON.stringify({ coldMs: cold.ms, warmMs, peakMiB, elements: cold.elements, bytes: cold.bytes }) + '\n');
