// Option values checked by commander (`argParser`): a bad one is a usage error in commander's
// form (`secmarkc: option '--retries <n>' argument 'abc' is invalid. ...`, exit 2) before any
// command runs.

import { InvalidArgumentError } from 'commander';
import { nameProblem } from '../policy/names.js';

/** Our table's name (and the CIL module's, the prefix of our types): exactly what a policy's `table` may be. */
export function parseTableName(value: string): string {
  const problem = nameProblem(value);
  if (problem) throw new InvalidArgumentError(`A table name ${problem}.`);
  return value;
}

/** A whole number >= 0 (--retries). */
export function parseCount(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('It takes a whole number >= 0.');
  return n;
}

/** A number of seconds >= 0, fractions allowed (--wait). */
export function parseSeconds(value: string): number {
  if (!/^\d+(\.\d+)?$/.test(value) || !Number.isFinite(Number(value))) throw new InvalidArgumentError('It takes a number of seconds >= 0.');
  return Number(value);
}

export interface PortRange {
  readonly from: number;
  readonly to: number;
}

/** FROM-TO, 1 <= FROM <= TO <= 65535 (--ephemeral). */
export function parsePortRange(value: string): PortRange {
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(value);
  const from = Number(m?.[1]);
  const to = Number(m?.[2]);
  if (!m || from < 1 || to > 65535 || from > to) throw new InvalidArgumentError('It takes a port range FROM-TO within 1-65535, e.g. 32768-60999.');
  return { from, to };
}
