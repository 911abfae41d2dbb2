// The steps every load of `apply` takes (POLICY, --rollback, the --on-invalid fallbacks): the
// writer's session and its intent, the CIL module then one batch, the program files' labels, and
// what a --dry-run would send. They report through LoadReport; the CLI prints (cli/apply-command.ts).

import { existsSync } from 'node:fs';
import type { CilModule, Ruleset } from '../compile/ir.js';
import { encodeRuleset } from '../netlink/encode-ruleset.js';
import type { Diagnostic } from '../policy/diagnostics.js';
import { journalPath, syncProgramLabels, type LabelChange } from '../programs/sync-labels.js';
import type { AppliedRecord, LoadCommand } from '../records/state.js';
import { installedModule, installModule, restoreModule } from '../selinux/semodule.js';
import { replaceTable, type ApplyResult } from './apply.js';
import { rulesetFor, withNetns } from './kernel-target.js';
import type { Notes } from './notes.js';
import { describeLive, WriterSession, type StateOptions } from './state-session.js';

export interface LoadRunOptions extends StateOptions {
  /** false with --no-module. */
  module: boolean;
  dryRun?: boolean;
  /** The table whose records --rollback and the fallbacks use (POLICY may name another). */
  table: string;
  retries: number;
  /** What this run did: report lines as it goes, and the JSON of --json. */
  report: LoadReport;
}

/** `apply --json` (README, "JSON output"): one object, printed at the end, whatever the outcome. */
export interface ApplyJson {
  /** What was asked: apply POLICY, or --rollback. */
  command: 'apply' | 'rollback';
  dryRun: boolean;
  /** Exit status 0. */
  ok: boolean;
  table: string;
  /** POLICY as given ("-": stdin); null with --rollback. */
  policy: string | null;
  /** What the kernel runs now because of this run (with --dry-run: would run); null: nothing was loaded. */
  loaded: 'policy' | 'previous' | 'last-good' | 'lockdown' | null;
  /** The CIL module: installed (its text changed) or not (unchanged); null when not touched; installed null under --dry-run. */
  module: { name: string; installed: boolean | null } | null;
  /** The batch the kernel applied (--dry-run: would be sent; generation and attempts null). */
  batch: { messages: number; bytes: number; generation: number | null; attempts: number | null } | null;
  /** The record that is live now: what was applied, rolled back to or kept. */
  record: { source: string; sha256: string; appliedAt: string } | null;
  /** Set when POLICY failed and --on-invalid keep|lockdown loaded something else. */
  fallback: { mode: 'keep' | 'lockdown'; reason: string } | null;
  /** Program files labelled or given back their labels. */
  labels: { path: string; from: string | null; to: string | null }[];
}

/** Where a run of apply says what it does. */
export interface LoadReport extends Notes {
  readonly json: ApplyJson;
  /** A line of the report (what was done). */
  say(line: string): void;
  /** The record that is live now, for the JSON. */
  recordLive(record: Pick<AppliedRecord, 'source' | 'appliedAt'>): void;
  label(change: LabelChange): void;
  /** A runtime failure: said, and the exit status is 1. */
  fail(message: string): void;
  /** Input found invalid when it was loaded (the exclusivity audit): its diagnostics, then the message; exit status 2. */
  invalid(diagnostics: readonly Diagnostic[], message: string): void;
  /** A load failed (the kernel refused the batch, semodule failed, ...): said, after `context` if given; exit status 1. */
  failLoad(error: unknown, context?: string): void;
  /** semodule put the module before back after the audit refused the new one: restoreModule's words. */
  moduleRestored(message: string): void;
  /** Runs a fallback: whatever it says, the exit status stays the failure's that caused it (never 0). */
  keepStatus(fallback: () => Promise<void>): Promise<void>;
}

/** The writer's session, or undefined after saying why not: nothing has been sent then. */
export async function openSession(options: LoadRunOptions, table: string, command: LoadCommand): Promise<WriterSession | undefined> {
  const { report } = options;
  try {
    return await WriterSession.open(options, table, command, report);
  } catch (error) {
    const denied = /EACCES|EPERM/.test(report.describe(error)) && process.geteuid?.() !== 0;
    report.fail(`${report.describe(error)}${denied ? ' (apply needs root: CAP_NET_ADMIN, and the state directory)' : ''}. Nothing was sent to the kernel.`);
    return undefined;
  }
}

/** Write the intent; false after saying why not (and what is live): nothing has been sent then. */
export async function begin(session: WriterSession, report: LoadReport, command: LoadCommand, load: Parameters<WriterSession['begin']>[1]): Promise<boolean> {
  try {
    session.begin(command, load);
    return true;
  } catch (error) {
    report.fail(`cannot write to the state directory ${session.options.stateDir}: ${report.describe(error)}. Nothing was sent to the kernel.`);
    await sayWhatIsLive(session, report);
    return false;
  }
}

/** After an error: what the kernel runs now, in words (best effort). */
async function sayWhatIsLive(session: WriterSession, report: LoadReport): Promise<void> {
  try {
    report.note(`the live table is ${describeLive(await session.live(), session.table)}`);
  } catch (error) {
    report.note(`cannot tell what is live: ${report.describe(error)}`);
  }
}

/** --dry-run: the batch that would be sent (and the module that would be installed if changed). */
export function dryRun(ruleset: Ruleset, module: CilModule, options: LoadRunOptions, loaded: 'policy' | 'previous'): void {
  const encoded = encodeRuleset(ruleset, { mode: 'replace' });
  const { report } = options;
  report.json.loaded = loaded;
  report.json.batch = { messages: encoded.messages.length, bytes: encoded.bytes.length, generation: null, attempts: null };
  if (options.module && options.lsm) {
    report.json.module = { name: module.name, installed: null };
    report.say(`would install CIL module ${module.name} if changed (semodule -i)`);
  }
  report.say(`would send one batch of ${encoded.messages.length} messages, ${encoded.bytes.length} bytes:`);
  for (const m of encoded.messages) report.say(`  ${m.seq}\t${m.type}\t${m.what}`);
}

/**
 * Module first (the secmark contexts name its types), then one batch. `audit` runs in between,
 * against the policy with the module in it; if it throws, the module before is put back.
 */
export async function load(
  ruleset: Ruleset,
  module: CilModule | undefined,
  options: LoadRunOptions,
  meanwhile?: (batch: Uint8Array) => void,
  audit?: (module: CilModule) => void,
): Promise<ApplyResult> {
  if (module && options.lsm) {
    const before = options.module && audit ? installedModule(module.name, options.stateDir) : undefined;
    const installed = installIfChanged(module, options);
    try {
      audit?.(module);
    } catch (error) {
      if (installed && before) options.report.moduleRestored(restoreModule(module.name, before, options.stateDir));
      throw error;
    }
  }
  const live = rulesetFor(ruleset, options);
  const applied = await withNetns(options, (netnsFd) =>
    replaceTable(live, {
      retries: options.retries,
      ...(netnsFd === undefined ? {} : { netnsFd }),
      ...(meanwhile === undefined ? {} : { meanwhile }),
      onRetry: (attempt, generation) => options.report.note(`the ruleset changed under us (generation ${generation}): nothing was applied; trying again (attempt ${attempt + 1})`),
    }),
  );
  options.report.json.batch = { messages: applied.messages, bytes: applied.bytes, generation: applied.generation, attempts: applied.attempts };
  options.report.say(
    `applied table inet ${live.table}: ${applied.messages} messages, ${applied.bytes} bytes, generation ${applied.generation}` +
      `${applied.attempts > 1 ? `, after ${applied.attempts} attempts` : ''}`,
  );
  return applied;
}

/** The module, with semodule only when its text changed (unless --no-module or --no-lsm). Whether semodule ran. */
export function installIfChanged(module: CilModule, options: LoadRunOptions): boolean {
  if (!options.lsm || !options.module) return false;
  const installed = installModule(module, options.stateDir);
  options.report.json.module = { name: module.name, installed };
  options.report.say(installed ? `installed CIL module ${module.name}` : `CIL module ${module.name} unchanged`);
  return installed;
}

/**
 * After a load: the files of the module's programs get their exec type, files no longer listed
 * their own label back. Only where the module itself was installed (the file contexts are its).
 * A failure leaves the ruleset as loaded and says so (exit 1); `status` shows each such file.
 */
export function syncLabels(module: CilModule, options: LoadRunOptions): void {
  if (!options.lsm || !options.module) return;
  if (module.programs.length === 0 && !existsSync(journalPath(options.stateDir, module.name))) return;
  try {
    for (const change of syncProgramLabels(module.programs, options.stateDir, module.name)) options.report.label(change);
  } catch (error) {
    options.report.fail(`the ruleset is loaded, but the program files could not all be labelled: ${options.report.describe(error)}. \`secmarkc status\` lists them; apply again once fixed.`);
  }
}
