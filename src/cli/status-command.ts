// `secmarkc status [POLICY]`: read our table back (objects, maps, chains, rules with counters)
// and, given the policy, report drift from what it compiles to (exit 3).

import type { Command } from 'commander';
import { compareTables, expectedTable, type Drift } from '../apply/drift.js';
import { readTable, type LiveTable } from '../apply/read-table.js';
import { NetfilterSession } from '../apply/session.js';
import { EXIT } from './exit-codes.js';
import { addKernelOptions, rulesetFor, withNetns, type KernelOptions } from './kernel-options.js';
import { addPortsFromOption, loadPolicy, type PortsFromOption } from './load-policy.js';
import { describeError, failRuntime } from './report.js';

interface StatusOptions extends KernelOptions, PortsFromOption {
  table?: string;
  json?: boolean;
}

const HOOK_NAMES: Record<number, string> = { 0: 'prerouting', 1: 'input', 2: 'forward', 3: 'output', 4: 'postrouting' };

export function registerStatus(program: Command): void {
  const command = program
    .command('status')
    .summary('show the live table with counters, and drift from POLICY')
    .description(
      'Read table inet <table> back from the kernel: secmark objects, maps and their sizes, chains and ' +
        'rules with packet/byte counters. Given POLICY, also compare the live table with what it compiles ' +
        'to and list what is missing, extra or different (exit 3 on drift).',
    )
    .argument('[policy]', 'policy file to compare with')
    .option('-t, --table <name>', 'the table to read (default: the policy\'s, else secmarkc)')
    .option('--json', 'print JSON');
  addPortsFromOption(addKernelOptions(command)).action(async (policyPath: string | undefined, options: StatusOptions) => {
    const compiled = policyPath === undefined ? undefined : loadPolicy(policyPath, options);
    if (policyPath !== undefined && !compiled) return;
    const table = options.table ?? compiled?.compiled.ruleset.table ?? 'secmarkc';
    let live: LiveTable | undefined;
    try {
      live = await withNetns(options, async (netnsFd) => {
        const session = NetfilterSession.open(netnsFd);
        try {
          return await readTable(session, table);
        } finally {
          session.close();
        }
      });
    } catch (error) {
      failRuntime(describeError(error));
      return;
    }
    const drift = compiled ? compareTables(expectedTable(rulesetFor(compiled.compiled.ruleset, options)), live) : undefined;
    process.stdout.write(options.json ? JSON.stringify(statusJson(table, live, drift), null, 2) + '\n' : statusText(table, live, drift));
    if (drift && drift.length > 0) process.exitCode = EXIT.drift;
  });
}

function ruleCounter(rule: LiveTable['rules'][number]): { packets: number; bytes: number } | undefined {
  const counter = rule.expressions.find((e) => e.kind === 'counter');
  if (!counter || counter.kind !== 'counter') return undefined;
  return { packets: Number(counter.packets ?? 0n), bytes: Number(counter.bytes ?? 0n) };
}

function statusJson(table: string, live: LiveTable | undefined, drift: Drift[] | undefined): unknown {
  return {
    table: { family: 'inet', name: table, present: live !== undefined },
    objects: live?.objects.map((o) => ({
      name: o.name,
      type: o.data.kind,
      ...(o.data.kind === 'secmark' ? { context: o.data.context } : {}),
      ...(o.data.kind === 'counter' ? { packets: Number(o.data.packets), bytes: Number(o.data.bytes) } : {}),
    })),
    maps: live?.sets.map(({ set, elements }) => ({ name: set.name, elements: elements.length })),
    chains: live?.chains.map((c) => ({
      name: c.name,
      hook: c.hook ? HOOK_NAMES[c.hook.hooknum] : undefined,
      priority: c.hook?.priority,
      rules: live.rules.filter((r) => r.chain === c.name).map((r) => ({ comment: r.comment ?? null, ...ruleCounter(r) })),
    })),
    ...(drift ? { drift } : {}),
  };
}

function statusText(table: string, live: LiveTable | undefined, drift: Drift[] | undefined): string {
  const out: string[] = [];
  if (!live) out.push(`table inet ${table}: not loaded`);
  else {
    out.push(`table inet ${table}`);
    for (const o of live.objects) {
      const detail = o.data.kind === 'secmark' ? o.data.context : o.data.kind === 'counter' ? `${o.data.packets} packets, ${o.data.bytes} bytes` : '';
      out.push(`  ${o.data.kind} ${o.name}  ${detail}`);
    }
    for (const { set, elements } of live.sets) out.push(`  map ${set.name}  ${elements.length} element${elements.length === 1 ? '' : 's'}`);
    for (const c of live.chains) {
      out.push(`  chain ${c.name}  (hook ${c.hook ? HOOK_NAMES[c.hook.hooknum] : '?'}, priority ${c.hook?.priority ?? '?'})`);
      for (const r of live.rules.filter((rule) => rule.chain === c.name)) {
        const n = ruleCounter(r);
        out.push(`    ${n ? `${String(n.packets).padStart(10)} packets ${String(n.bytes).padStart(12)} bytes` : ''}  ${r.comment ?? ''}`);
      }
    }
  }
  if (drift) {
    if (drift.length === 0) out.push('no drift: the live table is what the policy compiles to');
    else {
      out.push(`drift: ${drift.length} difference${drift.length === 1 ? '' : 's'} from the policy`);
      for (const d of drift) out.push(`  ${d.kind}: ${d.what}`);
    }
  }
  return out.join('\n') + '\n';
}
