// `secmarkc learn [--audit-log FILE | --dmesg] [--policy FILE] [--json] [-o FILE]`: packet AVC lines →
// a policy snippet to review. Reads logs and prints text; it never loads anything.

import type { Command } from 'commander';
import { Option } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { emitSnippet } from '../learn/emit-snippet.js';
import { DEFAULT_LEARN_OPTIONS, suggestPolicy, type LearnOptions, type PortProtocol } from '../learn/suggest.js';
import { parsePacketAvcs, type MalformedLine } from '../selinux/packet-avc.js';
import { runTool } from '../selinux/tools.js';
import { stdinConflict, writeOutput } from './io.js';
import { loadPolicy } from './load-policy.js';
import { parsePortRange, type PortRange } from './option-parsers.js';
import { describeError, failRuntime, failUsage } from './report.js';

export const AUDIT_LOG = '/var/log/audit/audit.log';
const PROTOCOLS: readonly PortProtocol[] = ['tcp', 'udp', 'sctp'];
const SHOW_MALFORMED = 5;

interface LearnCommandOptions {
  auditLog?: string;
  dmesg?: boolean;
  policy?: string;
  json?: boolean;
  output?: string;
  proto: PortProtocol;
  ephemeral: PortRange;
}

export function registerLearn(program: Command): void {
  program
    .command('learn')
    .summary('suggest policy entries from packet AVC lines (denied and granted)')
    .description(
      'Read SELinux packet AVC lines (tclass=packet; "denied", and "granted" from unlabeled: audit) from an ' +
        `audit log, the kernel ring buffer or stdin, and print a YAML "apps:" snippet that would allow what was ` +
        'seen, one app per domain, deduplicated and counted. It is a suggestion to review: nothing is applied. ' +
        `Default input: ${AUDIT_LOG} if it exists, else the kernel ring buffer (dmesg). Journal lines work ` +
        'too: journalctl -k | secmarkc learn --audit-log -. Packet AVCs carry no protocol: port entries get --proto.',
    )
    .addOption(new Option('--audit-log <file>', 'read this log (auditd, dmesg or journal format); - for stdin').conflicts('dmesg'))
    .option('--dmesg', 'read the kernel ring buffer (dmesg)')
    .option('--policy <file>', 'merge with this policy (- for stdin): reuse its app names, skip what it already allows')
    .addOption(new Option('--proto <protocol>', 'protocol assumed for port entries').choices(PROTOCOLS).default('tcp'))
    .option('--ephemeral <from-to>', 'local port range clients use (net.ipv4.ip_local_port_range)', parsePortRange, parsePortRange('32768-60999'))
    .option('--json', 'print the suggestion as JSON')
    .option('-o, --output <file>', 'write to FILE (atomically; - for stdout) instead of stdout')
    .action((options: LearnCommandOptions) => {
      const ephemeral = options.ephemeral;
      const conflict = stdinConflict({ '--audit-log': options.auditLog, '--policy': options.policy });
      if (conflict) return failUsage(conflict);
      const loaded = options.policy === undefined ? undefined : loadPolicy(options.policy);
      if (options.policy !== undefined && !loaded) return;

      let input;
      try {
        input = readInput(options);
      } catch (error) {
        failRuntime(describeError(error));
        return;
      }
      const parsed = parsePacketAvcs(input.text);
      reportMalformed(input.name, parsed.malformed);
      const learnOptions: LearnOptions = { ...DEFAULT_LEARN_OPTIONS, protocol: options.proto, ephemeral };
      const suggestion = suggestPolicy(parsed.avcs, loaded?.policy, learnOptions);
      const text = options.json
        ? JSON.stringify({ source: input.name, ...suggestion, first: suggestion.first ?? null, last: suggestion.last ?? null, malformed: parsed.malformed, ignoredLines: parsed.ignored }, null, 2) + '\n'
        : emitSnippet(suggestion, loaded?.policy.file);
      writeOutput(options.output, text);
    });
}

function readInput(options: LearnCommandOptions): { name: string; text: string } {
  const file = options.auditLog ?? (options.dmesg || !existsSync(AUDIT_LOG) ? undefined : AUDIT_LOG);
  if (file === '-') return { name: '<stdin>', text: readFileSync(0, 'utf8') };
  if (file !== undefined) {
    try {
      return { name: file, text: readFileSync(file, 'utf8') };
    } catch (error) {
      throw new Error(`cannot read ${file}: ${describeError(error)}`, { cause: error });
    }
  }
  const r = runTool('dmesg', []);
  if (r.status !== 0) throw new Error(`dmesg exited ${r.status}: ${r.stdout.trim().slice(0, 300)} (reading the kernel ring buffer may need root or kernel.dmesg_restrict=0)`);
  return { name: 'dmesg', text: r.stdout };
}

function reportMalformed(source: string, malformed: readonly MalformedLine[]): void {
  if (malformed.length === 0) return;
  process.stderr.write(`secmarkc: ${malformed.length} packet AVC line${malformed.length === 1 ? '' : 's'} in ${source} could not be read (ignored):\n`);
  for (const m of malformed.slice(0, SHOW_MALFORMED)) process.stderr.write(`  ${source}:${m.line}: ${m.reason}\n`);
  if (malformed.length > SHOW_MALFORMED) process.stderr.write(`  ... and ${malformed.length - SHOW_MALFORMED} more\n`);
}
