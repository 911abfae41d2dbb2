// `secmarkc status [POLICY]`: read our table back (objects, maps, chains, rules with counters),
// say which record of the state directory it is (without POLICY, exit 3 when it is not what the
// records say)
// and, given the policy, report drift from what it compiles to (exit 3). A reader: it never
// takes the writers' lock, and reads the index again until it did not change around the dump.

import type { Command } from 'commander';
import { compareTables, expectedTable, type Drift } from '../apply/drift.js';
import { existsSync, readFileSync } from 'node:fs';
import { lockHolder, type Holder } from '../apply/lock.js';
import type { LiveTable } from '../apply/read-table.js';
import { readIndex, statePaths, type RecordEntry, type StateIndex } from '../records/state.js';
import { checkStateDir, readTrusted } from '../records/state-dir.js';
import type { ProgramApp } from '../compile/ir.js';
import { programLabelStatus, type ProgramLabelStatus } from '../programs/label-status.js';
import { DEFAULT_STATE_DIR } from '../records/state-dir.js';
import { EXIT } from './exit-codes.js';
import { rulesetFor, type KernelOptions } from '../apply/kernel-target.js';
import { describeClaim, describeLive, matchLive, netnsId, readLiveTable, type LiveWhat } from '../apply/state-session.js';
import { addKernelOptions } from './kernel-options.js';
import { addPortsFromOption, loadPolicy, type PortsFromOption } from './load-policy.js';
import { parseTableName } from './option-parsers.js';
import { stdinConflict } from './io.js';
import { describeError, failRuntime, failUsage } from './report.js';

interface StatusOptions extends KernelOptions, PortsFromOption {
  table?: string;
  json?: boolean;
  stateDir: string;
}

/** Which record the live table is, as `status` reports it. */
interface RecordStatus {
  readonly stateDir: string;
  /** No record kept for the table there (never applied with this state directory). */
  readonly none?: true;
  /** The records are about another network namespace (its inode): not compared. */
  readonly otherNetns?: number;
  /** The records cannot be read or trusted. */
  readonly error?: string;
  /** What the records say is live, and what is. */
  readonly says?: StateIndex['live'];
  readonly live?: LiveWhat;
  /** The record that is live, when one is. */
  readonly liveRecord?: Summary;
  readonly consistent?: boolean;
  readonly text?: string;
  readonly current?: Summary | null;
  readonly previous?: Summary | null;
  readonly pending?: StateIndex['pending'];
  /** A writer holding the lock now. */
  readonly writer?: Holder | null;
  readonly unreadable?: readonly string[];
  /** The live record's apps with programs (internal: reported as `programs`). */
  readonly livePrograms?: readonly ProgramApp[];
  /** The records say a table is loaded, and none is: what probably deleted it, and the fix. */
  readonly missing?: MissingTable;
}

/** Why a recorded table is gone (`record.missing` in --json). */
interface MissingTable {
  /** Likely causes, most likely first: `nftables.service` (its config flushes the ruleset), `firewalld`, `nft flush ruleset`. */
  readonly causes: readonly string[];
  /** /etc/nftables.conf (not looked at with --netns): whether it has `flush ruleset`. */
  readonly nftablesConf?: { readonly path: string; readonly flushesRuleset: boolean };
  /** Commands that load it again. */
  readonly fix: readonly string[];
}

const NFTABLES_CONF = '/etc/nftables.conf';

type Summary = Pick<RecordEntry, 'source' | 'appliedAt' | 'via' | 'digest'>;

const HOOK_NAMES: Record<number, string> = { 0: 'prerouting', 1: 'input', 2: 'forward', 3: 'output', 4: 'postrouting' };

export function registerStatus(program: Command): void {
  const command = program
    .command('status')
    .summary('show the live table with counters, which record is live, and drift from POLICY')
    .description(
      'Read table inet <table> back from the kernel: secmark objects, maps and their sizes, chains and ' +
        'rules with packet/byte counters. Given POLICY, also compare the live table with what it compiles ' +
        'to and list what is missing, extra or different (exit 3 on drift).\n\n' +
        'It also compares the live table with the records apply keeps in the state directory and says ' +
        'which is live: the current record, the previous one, the LOCKDOWN ruleset, no table, the policy ' +
        'an interrupted apply was loading, or a table that matches no record. Without POLICY, exit 3 when that is not what ' +
        'the records say (unless an apply is running now). It never waits for the writers\' lock.',
    )
    .argument('[policy]', 'policy file to compare with')
    .option('-t, --table <name>', 'the table to read (default: the policy\'s, else secmarkc)', parseTableName)
    .option('--json', 'print JSON')
    .option('--state-dir <dir>', 'where apply keeps its records', DEFAULT_STATE_DIR);
  addPortsFromOption(addKernelOptions(command)).action(async (policyPath: string | undefined, options: StatusOptions) => {
    const conflict = stdinConflict({ POLICY: policyPath, '--ports-from': options.portsFrom });
    if (conflict) return failUsage(conflict);
    const compiled = policyPath === undefined ? undefined : loadPolicy(policyPath, options);
    if (policyPath !== undefined && !compiled) return;
    const table = options.table ?? compiled?.compiled.ruleset.table ?? 'secmarkc';
    let live: LiveTable | undefined;
    let record: RecordStatus;
    try {
      // The index read before and after the dump: a writer that committed in between is seen,
      // and the pair read again (writers are never waited for).
      for (let attempt = 1; ; attempt++) {
        const before = indexBytes(options.stateDir, table);
        live = (await readLiveTable(options, table)).live;
        if (before === indexBytes(options.stateDir, table) || attempt === 5) break;
      }
      record = recordStatus(options.stateDir, table, live, options);
    } catch (error) {
      failRuntime(describeError(error));
      return;
    }
    const drift = compiled ? compareTables(expectedTable(rulesetFor(compiled.compiled.ruleset, options)), live) : undefined;
    // Program files: those of POLICY, else of the live record (labels exist only under an LSM).
    const { livePrograms, ...shown } = record;
    const programApps = compiled ? compiled.compiled.module.programs : (livePrograms ?? []);
    const programs = options.lsm && programApps.length > 0 ? programLabelStatus(programApps) : undefined;
    process.stdout.write(options.json ? JSON.stringify(statusJson(table, live, drift, shown, programs), null, 2) + '\n' : statusText(table, live, drift, shown, programs));
    // Given POLICY, the question is drift from it; without, whether the records tell the truth.
    const labelsDrift = programs?.some((p) => !p.ok) ?? false;
    if ((drift ? drift.length > 0 : record.consistent === false) || labelsDrift) process.exitCode = EXIT.drift;
  });
}

function indexBytes(stateDir: string, table: string): string | undefined {
  try {
    return readTrusted(statePaths(stateDir, table).index)?.toString('utf8');
  } catch {
    return undefined;
  }
}

function summary(e: RecordEntry | null): Summary | null {
  return e && { source: e.source, appliedAt: e.appliedAt, via: e.via, digest: e.digest };
}

function recordStatus(stateDir: string, table: string, live: LiveTable | undefined, options: KernelOptions): RecordStatus {
  if (!existsSync(stateDir)) return { stateDir, none: true };
  let index: StateIndex;
  try {
    checkStateDir(stateDir);
    index = readIndex(stateDir, table);
  } catch (error) {
    return { stateDir, error: describeError(error), text: `cannot read the records in ${stateDir}: ${describeError(error)}` };
  }
  if (!index.current && !index.pending && index.live === 'none') return { stateDir, none: true };
  const netns = netnsId(options);
  if (index.netns !== undefined && netns !== undefined && index.netns !== netns) {
    return { stateDir, otherNetns: index.netns, text: `the records in ${stateDir} were last written for another network namespace (net:[${index.netns}]): not compared` };
  }
  const match = matchLive(stateDir, index, live, describeError);
  const writer = lockHolder(stateDir, table) ?? null;
  const says = index.live;
  const livePhrase = describeLive(match, table);
  let text: string;
  let consistent: boolean | undefined = match.what === says;
  if (index.pending && writer) {
    consistent = undefined;
    text = `secmarkc ${index.pending.command} (PID ${writer.pid ?? index.pending.pid}) is loading a policy now; the live table is ${livePhrase}`;
  } else if (index.pending) {
    consistent = false;
    const load = index.pending.load;
    const unrecorded =
      match.what === 'unknown' && load.kind === 'record' && load.source
        ? `; it is probably ${load.source.path} (sha256 ${load.source.sha256.slice(0, 12)}), which the interrupted apply was loading when it was killed, before it wrote its record (secmarkc status ${load.source.path} compares)`
        : '';
    text =
      `an interrupted secmarkc ${index.pending.command} (PID ${index.pending.pid}, since ${index.pending.since}) did not record what it did: ` +
      `the live table is ${livePhrase}${unrecorded}; the next apply, rollback or fallback records what it loads`;
  } else if (consistent) {
    text = `the live table is ${livePhrase}${says === 'current' ? '' : ', as the records say'}`;
    if (writer) text += `; secmarkc ${writer.command ?? ''} (PID ${writer.pid ?? '?'}) is writing now`;
  } else {
    text = `MISMATCH: the records say the live table is ${describeClaim(stateDir, index)}, but the live table is ${livePhrase}`;
  }
  const missing = !index.pending && !live && says !== 'none' ? missingTable(table, index.current?.source.path, options) : undefined;
  if (missing) text += `. ${missing.text}`;
  return {
    stateDir,
    says,
    live: match.what,
    ...(match.record ? { liveRecord: { source: match.record.source, appliedAt: match.record.appliedAt, via: match.record.via, digest: match.record.digest } } : {}),
    ...(consistent === undefined ? {} : { consistent }),
    text,
    current: summary(index.current),
    previous: summary(index.previous),
    pending: index.pending,
    writer,
    ...(match.unreadable.length > 0 ? { unreadable: match.unreadable } : {}),
    ...(match.record ? { livePrograms: match.record.module.programs } : {}),
    ...(missing ? { missing: missing.json } : {}),
  };
}

/**
 * Our table is gone though the records say it was loaded: nothing of ours deletes it but
 * `secmarkc remove` (which records that), so something flushed the ruleset. Name the likely
 * culprit: a config that nftables.service loads with `flush ruleset` (Debian's does), firewalld
 * (its start; some versions and `--direct` rules flush other tables), or `nft flush ruleset`.
 */
function missingTable(table: string, policy: string | undefined, options: KernelOptions): { json: MissingTable; text: string } {
  let nftablesConf: MissingTable['nftablesConf'];
  if (options.netns === undefined && existsSync(NFTABLES_CONF)) {
    let flushesRuleset = false;
    try {
      flushesRuleset = /^\s*flush\s+ruleset\b/m.test(readFileSync(NFTABLES_CONF, 'utf8'));
    } catch {
      // Unreadable: not evidence either way.
    }
    nftablesConf = { path: NFTABLES_CONF, flushesRuleset };
  }
  const causes = nftablesConf?.flushesRuleset
    ? ['nftables.service', 'firewalld', 'nft flush ruleset']
    : ['nft flush ruleset', 'nftables.service', 'firewalld'];
  const fix = ['systemctl restart secmarkc', `secmarkc apply ${policy ?? 'POLICY'}`];
  const likely = nftablesConf?.flushesRuleset
    ? `Likely cause: a ruleset flush: ${NFTABLES_CONF} has "flush ruleset", so a start, restart or reload of nftables.service deletes table inet ${table} ` +
      '(the secmarkc unit loads it again after each of them, except after a reload while the unit is failed or inactive); otherwise firewalld, or `nft flush ruleset` by hand'
    : `Likely cause: a ruleset flush: \`nft flush ruleset\`, a script or service that loads a ruleset beginning with "flush ruleset" (nftables.service), or firewalld`;
  return {
    json: { causes, ...(nftablesConf ? { nftablesConf } : {}), fix },
    text: `${likely}. Load it again: ${fix.join(', or ')}`,
  };
}

function ruleCounter(rule: LiveTable['rules'][number]): { packets: number; bytes: number } | undefined {
  const counter = rule.expressions.find((e) => e.kind === 'counter');
  if (!counter || counter.kind !== 'counter') return undefined;
  return { packets: Number(counter.packets ?? 0n), bytes: Number(counter.bytes ?? 0n) };
}

function statusJson(table: string, live: LiveTable | undefined, drift: Drift[] | undefined, record: RecordStatus, programs: ProgramLabelStatus[] | undefined): unknown {
  return {
    table: { family: 'inet', name: table, present: live !== undefined },
    objects: (live?.objects ?? []).map((o) => ({
      name: o.name,
      type: o.data.kind,
      ...(o.data.kind === 'secmark' ? { context: o.data.context } : {}),
      ...(o.data.kind === 'counter' ? { packets: Number(o.data.packets), bytes: Number(o.data.bytes) } : {}),
    })),
    maps: (live?.sets ?? []).map(({ set, elements }) => ({ name: set.name, elements: elements.size })),
    chains: (live?.chains ?? []).map((c) => ({
      name: c.name,
      hook: c.hook ? (HOOK_NAMES[c.hook.hooknum] ?? null) : null,
      priority: c.hook?.priority ?? null,
      rules: live!.rules.filter((r) => r.chain === c.name).map((r) => ({ comment: r.comment ?? null, packets: null, bytes: null, ...ruleCounter(r) })),
    })),
    // Every key of the record, null where it does not apply (README, "JSON output").
    record: {
      stateDir: record.stateDir,
      none: record.none ?? false,
      otherNetns: record.otherNetns ?? null,
      error: record.error ?? null,
      says: record.says ?? null,
      live: record.live ?? null,
      liveRecord: record.liveRecord ?? null,
      consistent: record.consistent ?? null,
      text: record.text ?? null,
      current: record.current ?? null,
      previous: record.previous ?? null,
      pending: record.pending ?? null,
      writer: record.writer ?? null,
      unreadable: record.unreadable ?? [],
      missing: record.missing ?? null,
    },
    drift: drift ?? null,
    programs: programs?.map((p) => ({ path: p.path, app: p.app, expected: p.expected, label: p.label ?? null, ok: p.ok, problem: p.problem ?? null })) ?? null,
  };
}

function statusText(table: string, live: LiveTable | undefined, drift: Drift[] | undefined, record: RecordStatus, programs: ProgramLabelStatus[] | undefined): string {
  const out: string[] = [];
  if (!live) out.push(`table inet ${table}: not loaded`);
  else {
    out.push(`table inet ${table}`);
    for (const o of live.objects) {
      const detail = o.data.kind === 'secmark' ? o.data.context : o.data.kind === 'counter' ? `${o.data.packets} packets, ${o.data.bytes} bytes` : '';
      out.push(`  ${o.data.kind} ${o.name}  ${detail}`);
    }
    for (const { set, elements } of live.sets) out.push(`  map ${set.name}  ${elements.size} element${elements.size === 1 ? '' : 's'}`);
    for (const c of live.chains) {
      out.push(`  chain ${c.name}  (hook ${c.hook ? HOOK_NAMES[c.hook.hooknum] : '?'}, priority ${c.hook?.priority ?? '?'})`);
      for (const r of live.rules.filter((rule) => rule.chain === c.name)) {
        const n = ruleCounter(r);
        out.push(`    ${n ? `${String(n.packets).padStart(10)} packets ${String(n.bytes).padStart(12)} bytes` : ''}  ${r.comment ?? ''}`);
      }
    }
  }
  if (record.none) out.push(`record: no policy recorded for table ${table} in ${record.stateDir}`);
  else {
    out.push(`record: ${record.text}`);
    for (const why of record.unreadable ?? []) out.push(`  unreadable: ${why}`);
  }
  if (drift) {
    if (drift.length === 0) out.push('no drift: the live table is what the policy compiles to');
    else {
      out.push(`drift: ${drift.length} difference${drift.length === 1 ? '' : 's'} from the policy`);
      for (const d of drift) out.push(`  ${d.kind}: ${d.what}`);
    }
  }
  for (const p of programs ?? []) out.push(p.ok ? `program ${p.path}: ${p.expected} (app ${p.app})` : `program ${p.path}: DRIFT: ${p.problem} (app ${p.app})`);
  return out.join('\n') + '\n';
}
