// Fixture folders: list cases, read files, and the UPDATE_GOLDEN=1 regenerate switch; the
// example policy, and policies a test needs compiled (or recorded) to go on.

import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { compilePolicy } from '../../src/compile/compile.js';
import type { CompiledPolicy } from '../../src/compile/ir.js';
import type { LowerOptions } from '../../src/compile/lower.js';
import type { PortTable } from '../../src/port-labels/port-table.js';
import { parsePortTableJson } from '../../src/port-labels/port-table-json.js';
import { makeRecord, type AppliedRecord } from '../../src/records/state.js';

export const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;
export const UPDATE = process.env.UPDATE_GOLDEN === '1';

export function cases(kind: 'valid' | 'invalid'): { name: string; dir: string }[] {
  const root = join(FIXTURES, kind);
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => ({ name: d.name, dir: join(root, d.name) }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

export function readPolicy(dir: string): string {
  return readFileSync(join(dir, 'policy.yaml'), 'utf8');
}

/** The port table a fixture compiles `ports: policy` with (its ports.json), if it has one. */
export function readPortTable(dir: string): { portTable?: PortTable } {
  const file = join(dir, 'ports.json');
  return existsSync(file) ? { portTable: parsePortTableJson(readFileSync(file, 'utf8'), file) } : {};
}

/** Compare with the golden file, or rewrite it under UPDATE_GOLDEN=1. */
export function matchGolden(t: ExecutionContext, dir: string, file: string, actual: string): void {
  const path = join(dir, file);
  if (UPDATE || !existsSync(path)) {
    if (!UPDATE) t.fail(`${path} is missing; run with UPDATE_GOLDEN=1 to create it`);
    writeFileSync(path, actual);
    return;
  }
  t.is(actual, readFileSync(path, 'utf8'), `${path} differs (UPDATE_GOLDEN=1 regenerates it after review)`);
}

/** examples/browser-proxy.yaml, the README's example: an app whose proxy is on tcp/3128. */
export const EXAMPLE_TEXT = readFileSync(new URL('../../examples/browser-proxy.yaml', import.meta.url), 'utf8');

/** A policy the test needs compiled; its diagnostics are the error when it does not compile. */
export function compiled(text: string, file = '/etc/secmarkc/policy.yaml', options: LowerOptions = {}): CompiledPolicy {
  const r = compilePolicy(text, file, options);
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return r.compiled;
}

/** The record apply writes for `text` as /etc/secmarkc/policy.yaml. */
export function recordOf(text: string): AppliedRecord {
  return makeRecord(compiled(text), { path: '/etc/secmarkc/policy.yaml', text });
}
