// bench/verdict.ts: a verdict whose margin is inside the spread says "not shown", never "met";
// too few rounds show nothing; the summary keeps every target with its reason.
import test from 'ava';
import { judge, MIN_ROUNDS, summaryTable, unmeasured } from '../bench/verdict.js';

test('a median clearly under the limit is met, clearly over it not met', (t) => {
  const met = judge('x', [0.40, 0.41, 0.42, 0.43, 0.44], 0.5);
  t.is(met.verdict, 'met');
  t.is(met.value, 0.42);
  t.is(judge('x', [0.60, 0.61, 0.62, 0.63, 0.64], 0.5).verdict, 'not met');
});

test('a margin inside the spread is "not shown", on either side of the limit', (t) => {
  // Median 0.48, under 0.5, but the rounds spread over ±0.1: the run cannot tell.
  const under = judge('x', [0.30, 0.38, 0.48, 0.58, 0.70], 0.5);
  t.is(under.value, 0.48);
  t.true(under.spread >= 0.02);
  t.is(under.verdict, 'not shown');
  t.is(judge('x', [0.32, 0.40, 0.52, 0.60, 0.72], 0.5).verdict, 'not shown');
});

test('a margin equal to the spread is still inside the noise', (t) => {
  // Binary-exact: median 1, quartiles 0.75 and 1.25 → spread 0.25; limit 1.25 → margin 0.25.
  const edge = judge('x', [1.5, 0.5, 1, 1.25, 0.75], 1.25);
  t.is(edge.value, 1);
  t.is(edge.spread, 0.25);
  t.is(edge.verdict, 'not shown');
  t.is(judge('x', [1.5, 0.5, 1, 1.25, 0.75], 1.5).verdict, 'met');
});

test(`fewer than ${MIN_ROUNDS} rounds (or no finite ratio) show nothing`, (t) => {
  const few = judge('x', [0.1, 0.1], 0.5);
  t.is(few.verdict, 'not shown');
  t.regex(few.note ?? '', /2 round/);
  t.is(judge('x', [NaN, NaN, NaN, 0.1], 0.5).verdict, 'not shown');
});

test('the summary lists every target with its value, spread, verdict and reason', (t) => {
  const table = summaryTable([judge('fast', [0.40, 0.41, 0.42, 0.43, 0.44], 0.5), unmeasured('boot', 0.5, 'not built in this tree')]);
  t.regex(table, /\| fast \| ≤ 0\.5 \| 0\.42 \| ± 0\.01 \| met \|/);
  t.regex(table, /\| boot \| ≤ 0\.5 \| – \| ± – \| not shown \(not built in this tree\) \|/);
  t.regex(table, /1 met, 0 not met, 1 not shown\./);
});
