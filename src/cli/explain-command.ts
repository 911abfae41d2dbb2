// `secmarkc explain DOMAIN`: what DOMAIN may send/recv in the loaded policy and where each
// packet type comes from; with --connect/--accept, what one new connection would get.

import type { Command } from 'commander';
import { parseEndpoint, type Endpoint } from '../explain/endpoint.js';
import { explainConnection, explainDomain, grantsByType, type ConnectionAnswer } from '../explain/explain.js';
import { describeOrigin, packetTypeOrigins } from '../explain/origins.js';
import { typeProblem } from '../policy/names.js';
import { attributeMembers } from '../selinux/seinfo.js';
import { packetRulesOf } from '../selinux/sesearch.js';
import { EXIT } from './exit-codes.js';
import { explainUsers } from './explain-users.js';
import { addPortsFromOption, loadPolicy, type PortsFromOption } from './load-policy.js';
import { stdinConflict } from './io.js';
import { describeError, failRuntime, failUsage } from './report.js';

export const DEFAULT_POLICY = '/etc/secmarkc/policy.yaml';

interface ExplainOptions extends PortsFromOption {
  policy: string;
  usersOf?: string;
  selinuxPolicy?: string;
  connect: string[];
  accept: string[];
  json?: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function registerExplain(program: Command): void {
  const command = program
    .command('explain')
    .summary('which packet types a domain may use, or who may use an app\'s; would a connection pass')
    .description(
      'List the packet types DOMAIN may send or recv in the loaded SELinux policy (sesearch -A -s DOMAIN -c ' +
        'packet, attributes expanded with seinfo; Debian package setools) and, for each, where it comes from: ' +
        'an app entry of POLICY (file:line:col), a port label, a default, or unlabeled_t.\n\n' +
        'With --connect ADDR:PORT/PROTO (outbound, the output chain) or --accept FROM:PORT/PROTO (inbound to local ' +
        'PORT, the input chain), evaluate the compiled ruleset for that new connection as the kernel does ' +
        '(default, then port label, then app rules) and say whether DOMAIN may send and recv its label: ' +
        '"allowed: ..." or "refused: DOMAIN lacks send on T (label from policy.yaml:12:9)". Both options repeat. ' +
        'Over loopback a connection passes both chains and carries the input label; ask with --accept.\n\n' +
        'The reverse question, with --users-of APP|TYPE (and no DOMAIN): every domain that may send or recv ' +
        'the packet types of app APP of POLICY (or the packet type TYPE), with the rules that let it, and for ' +
        'our types whether that is exclusive (the audit of `secmarkc check`). Port labels of `ports: policy` ' +
        'are refpolicy\'s own types, shared by design: the answer lists who shares them.\n\n' +
        '--selinux-policy FILE asks a binary policy file (as sesearch POLICY does) instead of the loaded one.\n\n' +
        'Exit codes: 0 all allowed (or no --connect/--accept), 4 at least one refused, 1 runtime failure ' +
        '(missing tool, unknown domain), 2 invalid policy or usage.',
    )
    .argument('[domain]', 'SELinux domain (type), e.g. mozilla_t; or a program of an app with `programs` (its generated domain)')
    .option('-p, --policy <file>', 'our policy file (- for stdin)', DEFAULT_POLICY)
    .option('-c, --connect <addr:port/proto>', 'a new outbound connection to check (repeatable), e.g. [2001:db8::1]:443/tcp', collect, [])
    .option('-a, --accept <from:port/proto>', 'a new inbound connection from FROM to local PORT to check (repeatable)', collect, [])
    .option('-u, --users-of <app-or-type>', 'which domains may use the packet types of this app (or this packet type)')
    .option('--selinux-policy <file>', 'ask this binary SELinux policy file instead of the loaded policy')
    .option('--json', 'print JSON');
  addPortsFromOption(command).action((domainOrProgram: string | undefined, options: ExplainOptions) => {
    let domain = domainOrProgram;
    const conflict = stdinConflict({ '--policy': options.policy, '--ports-from': options.portsFrom });
    if (conflict) return failUsage(conflict);
    if (options.usersOf !== undefined) {
      if (domain !== undefined || options.connect.length > 0 || options.accept.length > 0) {
        process.stderr.write('secmarkc: --users-of takes no DOMAIN, --connect or --accept\n');
        process.exitCode = EXIT.invalid;
        return;
      }
      explainUsers(options.usersOf, options);
      return;
    }
    if (domain === undefined) {
      process.stderr.write('secmarkc: missing DOMAIN (or --users-of APP|TYPE)\n');
      process.exitCode = EXIT.invalid;
      return;
    }
    const program = domain.startsWith('/');
    const problem = program ? undefined : typeProblem(domain);
    if (problem) {
      process.stderr.write(`secmarkc: domain "${domain}" ${problem}\n`);
      process.exitCode = EXIT.invalid;
      return;
    }
    const checks: { hook: 'input' | 'output'; endpoint: Endpoint }[] = [];
    for (const [hook, list] of [['output', options.connect], ['input', options.accept]] as const) {
      for (const text of list) {
        const endpoint = parseEndpoint(text);
        if (typeof endpoint === 'string') {
          process.stderr.write(`secmarkc: --${hook === 'output' ? 'connect' : 'accept'} ${endpoint}\n`);
          process.exitCode = EXIT.invalid;
          return;
        }
        checks.push({ hook, endpoint });
      }
    }
    const loaded = loadPolicy(options.policy, options);
    if (!loaded) return;
    // A program of an app with `programs`, or one of the domains generated for them: say which.
    const generated = loaded.compiled.module.programs.flatMap((app) => app.domains.map((d) => ({ app, domain: d })));
    if (program) {
      const mine = generated.filter(({ app }) => app.files.some((f) => f.path === domain || f.written === domain));
      if (mine.length === 0) {
        failRuntime(`${domain} is not among the programs of ${loaded.policy.file}: it runs in whatever domain the SELinux policy gives it (ls -Z; ps -Z)`);
        return;
      }
      if (mine.length > 1 && !options.json) {
        process.stdout.write(`${domain} runs in ${mine.map(({ domain: d }) => `${d.name} when started from ${d.parent}`).join(', ')}; ask for one of them. This is ${mine[0]!.domain.name}:\n`);
      }
      domain = mine[0]!.domain.name;
    }
    const own = generated.find(({ domain: d }) => d.name === domain);
    if (own && !options.json) {
      process.stdout.write(`${domain}: generated for app "${own.app.app}": ${own.app.files.map((f) => f.path).join(', ')} run in it when started from ${own.domain.parent}, with ${own.domain.parent}'s rights minus packets\n`);
    }

    const origins = packetTypeOrigins(loaded.policy, loaded.portTable);
    let grants;
    try {
      // Types and attributes share one namespace: a packet type our ruleset uses is no attribute,
      // so only the other targets cost a seinfo run (seconds each under load).
      const cache = new Map<string, string[] | undefined>();
      const members = (name: string): string[] | undefined => {
        if (origins.has(name)) return undefined;
        if (!cache.has(name)) cache.set(name, attributeMembers(name, options.selinuxPolicy));
        return cache.get(name);
      };
      grants = grantsByType(packetRulesOf(domain, options.selinuxPolicy), members);
    } catch (error) {
      failRuntime(describeError(error));
      return;
    }
    const ruleset = loaded.compiled.ruleset;

    if (checks.length > 0) {
      const answers: (ConnectionAnswer & { direction: string; peer: string })[] = checks.map(({ hook, endpoint }) => ({
        direction: hook === 'output' ? 'connect' : 'accept',
        peer: endpoint.text,
        ...explainConnection(
          ruleset,
          hook,
          {
            family: endpoint.family,
            saddr: hook === 'input' ? endpoint.address : 0n,
            daddr: hook === 'output' ? endpoint.address : 0n,
            proto: endpoint.proto,
            dport: endpoint.port,
          },
          domain,
          grants,
          origins,
        ),
      }));
      const connections = answers.map((a) => ({ direction: a.direction, peer: a.peer, allowed: a.allowed, type: a.type, object: a.object ?? null, labelFrom: a.labelFrom, send: a.send, recv: a.recv, message: a.message }));
      if (options.json) process.stdout.write(JSON.stringify({ domain, policy: loaded.policy.file, connections }, null, 2) + '\n');
      else for (const a of answers) process.stdout.write(`${a.direction} ${a.peer}: ${a.message}\n`);
      if (answers.some((a) => !a.allowed)) process.exitCode = EXIT.refused;
      return;
    }

    const entries = explainDomain(grants, origins);
    if (options.json) {
      process.stdout.write(JSON.stringify({ domain, policy: loaded.policy.file, types: entries }, null, 2) + '\n');
      return;
    }
    const out = [`${domain} may use these packet types (${options.selinuxPolicy ?? 'loaded policy'}; origins from ${loaded.policy.file}):`];
    if (entries.length === 0) out.push('  none: every labelled connection of this domain is refused');
    const width = Math.min(40, Math.max(0, ...entries.map((e) => e.type.length)));
    for (const e of entries) {
      const perms = `${e.send ? 'send' : '    '} ${e.recv ? 'recv' : '    '}`;
      const from = e.origins.length > 0 ? e.origins.map(describeOrigin).join('; ') : `not produced by ${loaded.policy.file}`;
      out.push(`  ${e.type.padEnd(width)}  ${perms}  ${from}`);
    }
    process.stdout.write(out.join('\n') + '\n');
  });
}
