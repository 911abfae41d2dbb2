// Fixture folders: list cases, read files, and the UPDATE_GOLDEN=1 regenerate switch.

import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import type { PortTable } from '../../src/port-labels/port-table.js';
import { parsePortTableJson } from '../../src/port-labels/port-table-json.js';

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
