// One measurement in a fresh process (so peak memory is this compile's alone): parse, lower,
// emit nft text; prints JSON { ms, peakMiB, elements }.

import { compilePolicy } from '../src/compile/compile.js';
import { emitNftText } from '../src/emit/nft-text.js';
import { generatePolicy } from './generate.js';

const entries = Number(process.argv[2]);
const text = generatePolicy(entries);
const start = process.hrtime.bigint();
const result = compilePolicy(text, 'bench.yaml');
if (!result.ok) throw new Error('benchmark policy does not compile');
const nft = emitNftText(result.compiled.ruleset);
const ms = Number(process.hrtime.bigint() - start) / 1e6;
const elements = result.compiled.ruleset.maps.reduce((n, m) => n + m.elements.length, 0);
process.stdout.write(JSON.stringify({ ms, peakMiB: process.resourceUsage().maxRSS / 1024, elements, bytes: nft.length }) + '\n');
