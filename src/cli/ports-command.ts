// `secmarkc ports`: the port → packet type table that `ports: policy` compiles into the maps.

import { Option, type Command } from 'commander';
import { portTableJson } from '../port-labels/port-table-json.js';
import type { PortTable } from '../port-labels/port-table.js';
import { addPortsFromOption, portTableFor, type PortsFromOption } from './load-policy.js';
import { PolicyInputError } from './io.js';
import { describeError, failInvalid, failRuntime } from './report.js';

export function registerPorts(program: Command): void {
  const command = program
    .command('ports')
    .summary('the port → packet type labels of the loaded SELinux policy (or a policy file)')
    .description(
      'Print the table `ports: policy` uses: for each protocol and port range the port type and the client ' +
        '(outbound) and server (inbound) packet types, and the port types skipped because the policy has no ' +
        'packet types for them (their ports get client_packet_t / server_packet_t). Read from the loaded ' +
        'policy with seinfo (Debian package setools), from a binary policy file with --selinux-policy (to ' +
        'review a host\'s policy elsewhere: no SELinux needed), or from a file saved with --json.',
    )
    .option('--json', 'print JSON (the input format of --ports-from)')
    .addOption(
      new Option('--selinux-policy <file>', 'read this binary SELinux policy (e.g. /etc/selinux/default/policy/policy.33) instead of the loaded one').conflicts('portsFrom'),
    );
  addPortsFromOption(command).action((options: PortsFromOption & { json?: boolean }) => {
    let table: PortTable;
    try {
      table = portTableFor(options);
    } catch (error) {
      if (error instanceof PolicyInputError) failInvalid([error.diagnostic]);
      else failRuntime(describeError(error));
      return;
    }
    const source = options.portsFrom ?? `seinfo (${options.selinuxPolicy ?? 'loaded policy'})`;
    process.stdout.write(options.json ? JSON.stringify(portTableJson(table, source), null, 2) + '\n' : portTableText(table, source));
  });
}

function portTableText(table: PortTable, source: string): string {
  const rows = [['proto', 'ports', 'port type', 'client (outbound)', 'server (inbound)']];
  for (const l of table.labels) {
    rows.push([l.protocol, l.from === l.to ? String(l.from) : `${l.from}-${l.to}`, l.portType, l.client ?? '-', l.server ?? '-']);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const out = [`# port labels from ${source}; other ports: client_packet_t (outbound), server_packet_t (inbound)`];
  for (const r of rows) out.push(r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '));
  if (table.skipped.length > 0) {
    out.push('', `# ${table.skipped.length} port types skipped (their ports get the defaults):`);
    for (const s of table.skipped) out.push(`${s.portType}: ${s.reason}`);
  }
  return out.join('\n') + '\n';
}
