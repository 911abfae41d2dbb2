// What an apply keeps with its intent so that the policy it was loading can be compiled again if
// it is killed before its record file exists (records/state.ts, "files"): the compile's inputs besides the
// text, and the recompile itself, which the next writer and `status` compare with the live table.

import { createRequire } from 'node:module';
import { lowerParsed } from '../compile/compile.js';
import { makeRecord, readIntent, type AppliedRecord, type Load, type Pending } from '../records/state.js';
import { parsePolicy } from '../policy/parse.js';
import { parsePortTableJson, portTableJson } from '../port-labels/port-table-json.js';
import type { PortTable } from '../port-labels/port-table.js';

const require = createRequire(import.meta.url);
const { version } = require('../../package.json') as { version: string };

/**
 * Everything apply's compile depended on besides the text: the name the diagnostics and spans
 * use, the port labels of `ports: policy` (from seinfo or --ports-from: a few hundred rows, kept
 * as they were read, since the loaded SELinux policy may change), and the compiler's version.
 * Not the inputs of apps by program path (the parents' rules in the SELinux policy, the program
 * files): too much to keep, so apply writes the record of such a policy before its batch.
 */
export function intentInputs(file: string, portTable: PortTable | undefined): Record<string, unknown> {
  return { version, file, portTable: portTable ? portTableJson(portTable, 'apply') : null };
}

export type Rebuilt = { readonly record: AppliedRecord } | { readonly why: string };

/**
 * The record an interrupted apply would have written, compiled again from its intent file; or
 * why it cannot be (none kept, another version of secmarkc, damaged). Throws StateError when the
 * file cannot be trusted.
 */
export function rebuildFromIntent(stateDir: string, table: string, pending: Pending): Rebuilt {
  const load: Load = pending.load;
  const intent = readIntent(stateDir, table, load);
  if (!intent) return { why: 'it kept no copy of the policy (or it is gone)' };
  const { inputs } = intent;
  if (inputs['version'] !== version) return { why: `its copy of the policy was compiled by secmarkc ${String(inputs['version'])}, this is ${version}` };
  if (typeof inputs['file'] !== 'string') return { why: 'its copy of the policy does not say its name' };
  let portTable: PortTable | undefined;
  try {
    portTable = inputs['portTable'] ? parsePortTableJson(JSON.stringify(inputs['portTable']), `intent of ${intent.source.path}`) : undefined;
  } catch (error) {
    return { why: (error as Error).message };
  }
  const parsed = parsePolicy(intent.text, inputs['file']);
  // Their compile read the SELinux policy and the files of this host (apply writes their record before the batch).
  if (parsed.ok && parsed.policy.apps.some((app) => app.programs.length > 0)) return { why: 'its apps by program path were compiled with the SELinux policy and the files of the moment, which the intent does not keep' };
  const compiled = parsed.ok ? lowerParsed(parsed, portTable ? { portTable } : {}) : parsed;
  if (!compiled.ok || compiled.compiled.ruleset.table !== table) return { why: 'its copy of the policy no longer compiles to this table' };
  return { record: makeRecord(compiled.compiled, { path: intent.source.path, text: intent.text }, 'apply', pending.since) };
}
