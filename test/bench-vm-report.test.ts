// bench/vm/report.ts: medians, ratios to "no ruleset" and to the smallest secmarkc ruleset, the
// change of the largest against the smallest, and what the proof lines say.
import test from 'ava';
import { vmReport, type GuestConfig, type VmResult } from '../bench/vm/report.js';

const config: GuestConfig = {
  table: 'secmarkc_bench',
  contexts: [],
  port: 5001,
  domain: 'smc_a_t',
  otherDomain: 'smc_b_t',
  seconds: 2,
  runs: 3,
  modes: ['conn'],
  configs: [],
  budgetSec: 600,
};
const avc = { denied: 0, loadgen: 0, sample: '' };
const hits = { ops: 100, labelOut: 100, labelIn: 100, restore: 1000 };
const result: VmResult = {
  configs: [
    { label: 'no ruleset', layout: 'none', size: 0, rates: { conn: [90, 100, 110] }, loads: [1000], avc },
    { label: 'secmarkc, 10 entries', layout: 'secmarkc', size: 10, rates: { conn: [40, 50, 60] }, loads: [80000, 4000, 4000], proof: { conn: hits }, avc },
    { label: 'secmarkc, 100,000 entries', layout: 'secmarkc', size: 100000, rates: { conn: [54, 36, 45] }, loads: [30000], avc: { denied: 2, loadgen: 1, sample: 'avc:  denied  { send }' } },
    { label: 'linear, 1,000 rules', layout: 'linear', size: 1000, rates: { conn: [20, 25, 30] }, loads: [2000], avc },
  ],
  checks: [],
  bootMs: 600000,
  linearProbe: { size: 100000, ms: 0, status: 'timeout', limitSec: 240 },
};

test('cells are median ± spread with per-round ratios to no ruleset and to the smallest secmarkc ruleset', (t) => {
  const text = vmReport('### title', 'host', config, result);
  t.true(text.includes('| no ruleset | 100 ± 10 (1.000 / 2.000) | 1.0 s |'), text);
  t.true(text.includes('| secmarkc, 10 entries | 50 ± 10 (0.500 / 1.000) | 4.0 s |'), text);
  t.true(text.includes('| linear, 1,000 rules | 25 ± 5 (0.250 / 0.500) | 2.0 s |'), text);
  // Per-round ratios 1.35, 0.72, 0.75: their median, not the ratio of the medians (45 / 50).
  t.true(text.includes('- secmarkc, 100,000 entries vs secmarkc, 10 entries: TCP connect/close -25.0%'), text);
  t.true(text.includes('- linear, 1,000 rules vs secmarkc, 10 entries: TCP connect/close -50.0%'), text);
});

test('proof lines carry counters, denials and the linear probe; a missing control is said', (t) => {
  const text = vmReport('### title', 'host', config, result);
  t.true(text.includes('- secmarkc, 10 entries: TCP connect/close: ~100 ops, label out +100 / in +100, restore +1,000; denials 0 for smc_a_t, 0 in all'), text);
  t.true(text.includes('denials 1 for smc_a_t, 2 in all (e.g. avc:  denied  { send })'), text);
  t.true(text.includes('did not finish within 240 s'), text);
  t.true(text.includes('- control: not run'), text);
});
