// Verdicts on the issue's targets, and the summary table that ends the report. Pure: no timing
// here, so test/bench-verdict.test.ts can check that a verdict inside the noise says so.

import { median, spread } from './system.js';

export type Verdict = 'met' | 'not met' | 'not shown';

/** One target as measured: `ratios` are per-round ratios (ours / the reference), lower is better. */
export interface TargetResult {
  target: string;
  /** The bound the median ratio must not exceed. */
  limit: number;
  value: number;
  spread: number;
  verdict: Verdict;
  /** Why a verdict is "not shown" when it is not the noise (nothing measured, too few rounds). */
  note?: string;
}

/** Fewer rounds than this give no spread worth the name: the verdict is "not shown". */
export const MIN_ROUNDS = 3;

/**
 * Judge `ratios` against "≤ limit": the median is the value, half the interquartile range the
 * spread. A margin (limit − value) no larger than the spread is inside the noise: "not shown",
 * whichever side of the limit the median falls.
 */
export function judge(target: string, ratios: readonly number[], limit: number): TargetResult {
  const valid = ratios.filter(Number.isFinite);
  if (valid.length < MIN_ROUNDS) {
    return { target, limit, value: valid.length ? median(valid) : NaN, spread: NaN, verdict: 'not shown', note: `${valid.length} round(s), fewer than ${MIN_ROUNDS}` };
  }
  const value = median(valid);
  const noise = spread(valid);
  const margin = limit - value;
  const verdict: Verdict = Math.abs(margin) <= noise ? 'not shown' : margin > 0 ? 'met' : 'not met';
  return { target, limit, value, spread: noise, verdict };
}

/** A target this run could not measure (a benchmark not built, not selected, or reporting no numbers). */
export function unmeasured(target: string, limit: number, note: string): TargetResult {
  return { target, limit, value: NaN, spread: NaN, verdict: 'not shown', note };
}

const num = (x: number, digits: number): string => (Number.isFinite(x) ? x.toFixed(digits) : '–');

/** "0.43× ± 0.02 (≤ 0.5×): met" — the line a section prints under its table. */
export function verdictLine(t: TargetResult, unit = '×'): string {
  return `${t.target}: ${num(t.value, 2)}${unit} ± ${num(t.spread, 2)} (≤ ${t.limit}${unit}): **${t.verdict}**${t.note ? ` (${t.note})` : ''}`;
}

/** The report's last table: every target, its value, spread and verdict, quotable as it is. */
export function summaryTable(results: readonly TargetResult[]): string {
  const count = (v: Verdict): number => results.filter((r) => r.verdict === v).length;
  return [
    '### Summary: the targets of issue 16',
    '',
    'Value: the median of the per-round ratios (whole process vs whole process, same rounds); spread: half their interquartile range. A target whose margin is within the spread is *not shown*, whichever side of the limit its median falls.',
    '',
    '| target | limit | measured | spread | verdict |',
    '|---|---:|---:|---:|---|',
    ...results.map((t) => `| ${t.target} | ≤ ${t.limit} | ${num(t.value, 2)} | ± ${num(t.spread, 2)} | ${t.verdict}${t.note ? ` (${t.note})` : ''} |`),
    '',
    `${count('met')} met, ${count('not met')} not met, ${count('not shown')} not shown.`,
  ].join('\n');
}

/** What a benchmark returns to bench/run.ts: its section of the report, and its targets for the summary. */
export interface BenchReport {
  text: string;
  targets: TargetResult[];
}
