// parsePolicy: policy text → validated Policy, or every diagnostic at once. Pure: the caller
// reads the file. Nothing here throws on bad input; an escaping exception is a bug.

import { DiagnosticSink, type Diagnostic } from './diagnostics.js';
import { parseAddress } from './address.js';
import { nameProblem, typeProblem, LEVEL_PATTERN } from './names.js';
import { programPathProblem } from './program-path.js';
import { parsePortEntry, protocolFamily } from './ports.js';
import { LIMITS } from './limits.js';
import { findExcessiveNesting } from './nesting.js';
import { fileSpan, generatedSpan, type Span } from './span.js';
import { closest } from './did-you-mean.js';
import type { App, PeerRange, Policy, PortEntry, PortsMode, Spanned, TrafficRule, UnlabeledMode } from './types.js';
import { parseYamlFast } from './yaml-fast.js';
import { parseYamlFull } from './yaml-full.js';
import { YamlReader, type MapEntry, type YamlNode } from './yaml-reader.js';
import { LineIndex } from './yaml-tree.js';

export const TOP_KEYS = ['version', 'table', 'unlabeled', 'level', 'loader', 'neighbour_discovery', 'ports', 'groups', 'apps'] as const;
export const APP_KEYS = ['domain', 'programs', 'run_from', 'description', 'connect', 'serve'] as const;
export const CONNECT_KEYS = ['to', 'ports'] as const;
export const SERVE_KEYS = ['from', 'ports'] as const;
export const UNLABELED_MODES: readonly UnlabeledMode[] = ['allow', 'audit', 'deny'];
export const PORTS_MODES: readonly PortsMode[] = ['none', 'policy'];

export const DEFAULTS = {
  table: 'secmarkc',
  level: 's0',
  /** A root shell (unconfined_t / sysadm_t) and a service started by init (initrc_t) on refpolicy. */
  loader: ['unconfined_t', 'sysadm_t', 'initrc_t'],
  /** Neighbour discovery is sent by the kernel's own socket. */
  neighbourDiscovery: ['kernel_t'],
  /**
   * Where an app's programs run today: an administrator's root shell (unconfined_t) and the
   * services systemd starts (refpolicy: init_t enters initrc_t on exec of a bin_t program).
   */
  runFrom: ['unconfined_t', 'initrc_t'],
} as const;

export type ParseResult =
  | { readonly ok: true; readonly policy: Policy; readonly diagnostics: readonly Diagnostic[] }
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };

/**
 * Addresses and ports repeat a lot in large policies (a host × many ports, a port × many hosts):
 * each distinct text is parsed once per parsePolicy call (which is synchronous, so these module
 * maps are never shared between two parses).
 */
const addressMemo = new Map<string, ReturnType<typeof parseAddress>>();
const portMemo = new Map<string, ReturnType<typeof parsePortEntry>>();

function memo<T>(cache: Map<string, T>, text: string, parse: (text: string) => T): T {
  let result = cache.get(text);
  if (result === undefined) cache.set(text, (result = parse(text)));
  return result;
}

export function parsePolicy(text: string, file: string): ParseResult {
  try {
    return parseWithMemo(text, file);
  } finally {
    addressMemo.clear();
    portMemo.clear();
  }
}

function parseWithMemo(text: string, file: string): ParseResult {
  const sink = new DiagnosticSink();
  // The CLI reads at most LIMITS.policyBytes bytes; text handed in by other callers is held to it too.
  if (text.length > LIMITS.policyBytes) {
    sink.error('SMC091', fileSpan(file), `the policy has ${text.length} characters; at most ${LIMITS.policyBytes} bytes are read`);
    return { ok: false, diagnostics: sink.sorted() };
  }
  const reader = new YamlReader(file, text, new LineIndex(text), sink, fileSpan(file));
  // Before either parser runs: both recurse once per level, and overflow the stack on deep input.
  const deep = findExcessiveNesting(text, LIMITS.nesting);
  if (deep !== undefined) {
    sink.error('SMC092', reader.spanAt(deep), `nesting deeper than ${LIMITS.nesting} levels of mappings and lists (a policy needs 6)`);
    return { ok: false, diagnostics: sink.sorted() };
  }
  let root: YamlNode = parseYamlFast(text);
  if (!root) {
    const full = parseYamlFull(text);
    if (!full.ok) {
      for (const error of full.errors) {
        if (error.tooDeep) sink.error('SMC092', reader.spanAt(error.offset), `nesting too deep: the YAML parser ran out of stack (at most ${LIMITS.nesting} levels are allowed)`);
        else sink.error('SMC001', reader.spanAt(error.offset), error.message);
      }
      return { ok: false, diagnostics: sink.sorted() };
    }
    root = full.root;
  }

  const policy = readPolicy(reader, root, file);
  if (!policy || sink.hasErrors) return { ok: false, diagnostics: sink.sorted() };
  return { ok: true, policy, diagnostics: sink.sorted() };
}

function readPolicy(reader: YamlReader, root: YamlNode, file: string): Policy | undefined {
  const sink = reader.sink;
  const top = reader.entries(root, 'the policy', TOP_KEYS);
  if (!top) return undefined;
  const get = (key: string): MapEntry | undefined => top.find((e) => e.key === key);
  const rootSpan = reader.spanOf(root);

  const version = get('version');
  if (!version) sink.error('SMC004', rootSpan, 'missing "version" (this tool reads version: 1)');
  else {
    const v = reader.scalarText(version.value, '"version"', true);
    if (v && v.value !== '1') sink.error('SMC005', v.span, `unsupported policy version ${v.value} (this tool reads version: 1)`);
  }

  // What the policy does not write is made by the compiler: its span says so, not a line.
  const byDefault = (key: string, value: string): Span => generatedSpan(file, `"${key}" is not written: the default is ${value}`);
  const table = readName(reader, get('table'), '"table"') ?? { value: DEFAULTS.table, span: get('table')?.keySpan ?? byDefault('table', DEFAULTS.table) };

  let unlabeled: Spanned<UnlabeledMode> | undefined;
  const unlabeledEntry = get('unlabeled');
  if (!unlabeledEntry) {
    sink.error('SMC004', rootSpan, 'missing "unlabeled": choose allow, audit or deny (loading a secmark rule turns on packet checks for every packet on the host)');
  } else {
    const mode = reader.string(unlabeledEntry.value, '"unlabeled"');
    if (mode && !(UNLABELED_MODES as readonly string[]).includes(mode.value)) {
      sink.error('SMC007', mode.span, `"unlabeled" must be allow, audit or deny, not "${mode.value}"`);
    } else if (mode) unlabeled = mode as Spanned<UnlabeledMode>;
  }

  let level: Spanned<string> = { value: DEFAULTS.level, span: byDefault('level', DEFAULTS.level) };
  const levelEntry = get('level');
  if (levelEntry) {
    const l = reader.scalarText(levelEntry.value, '"level"');
    if (l && !LEVEL_PATTERN.test(l.value)) sink.error('SMC012', l.span, `"${l.value}" is not an MLS/MCS level (e.g. s0, s0:c1,c2, s0-s0:c0.c1023)`);
    else if (l) level = l;
  }

  const loaderSpan = byDefault('loader', DEFAULTS.loader.join(', '));
  const loader = readTypeList(reader, get('loader'), '"loader"', false) ?? DEFAULTS.loader.map((value) => ({ value, span: loaderSpan }));
  const neighbourDiscovery =
    readTypeList(reader, get('neighbour_discovery'), '"neighbour_discovery"', true) ??
    DEFAULTS.neighbourDiscovery.map((value) => ({ value, span: byDefault('neighbour_discovery', value) }));

  let ports: Spanned<PortsMode> = { value: 'none', span: byDefault('ports', 'none') };
  const portsEntry = get('ports');
  if (portsEntry) {
    const mode = reader.string(portsEntry.value, '"ports"');
    if (mode && !(PORTS_MODES as readonly string[]).includes(mode.value)) {
      sink.error('SMC007', mode.span, `"ports" must be none or policy, not "${mode.value}"`);
    } else if (mode) ports = mode as Spanned<PortsMode>;
  }

  const groups = readGroups(reader, get('groups'));
  const apps = readApps(reader, get('apps'), groups, rootSpan);

  if (!unlabeled || !apps) return undefined;
  return { file, version: 1, table, unlabeled, level, loader, neighbourDiscovery, ports, apps };
}

function readName(reader: YamlReader, entry: MapEntry | undefined, what: string): Spanned<string> | undefined {
  if (!entry) return undefined;
  const name = reader.string(entry.value, what);
  if (!name) return undefined;
  const problem = nameProblem(name.value);
  if (problem) {
    reader.sink.error('SMC010', name.span, `${what} "${name.value}" ${problem}`);
    return undefined;
  }
  return name;
}

function readTypeList(reader: YamlReader, entry: MapEntry | undefined, what: string, allowEmpty: boolean): Spanned<string>[] | undefined {
  if (!entry) return undefined;
  const list = reader.stringList(entry.value, what, allowEmpty);
  if (!list) return undefined;
  return checkTypes(reader, list, what);
}

function checkTypes(reader: YamlReader, list: Spanned<string>[], what: string): Spanned<string>[] {
  const out: Spanned<string>[] = [];
  for (const item of list) {
    const problem = typeProblem(item.value);
    if (problem) reader.sink.error('SMC011', item.span, `${what}: "${item.value}" ${problem}`);
    else if (!out.some((o) => o.value === item.value)) out.push(item);
  }
  return out;
}

type Groups = Map<string, PeerRange[]>;

function readGroups(reader: YamlReader, entry: MapEntry | undefined): Groups {
  const groups: Groups = new Map();
  if (!entry) return groups;
  for (const group of reader.entries(entry.value, '"groups"') ?? []) {
    const problem = nameProblem(group.key);
    if (problem) {
      reader.sink.error('SMC010', group.keySpan, `group name "${group.key}" ${problem}`);
      continue;
    }
    const items = reader.stringList(group.value, `group "${group.key}"`) ?? [];
    const ranges: PeerRange[] = [];
    for (const item of items) {
      const range = readAddress(reader, item);
      if (range) ranges.push(range);
    }
    groups.set(group.key, ranges);
  }
  return groups;
}

function readAddress(reader: YamlReader, item: Spanned<string>): PeerRange | undefined {
  const parsed = memo(addressMemo, item.value, parseAddress);
  if (!parsed.ok) {
    reader.sink.error(parsed.code, item.span, parsed.message);
    return undefined;
  }
  return { range: parsed.range, text: item.value, span: item.span };
}

function readApps(reader: YamlReader, entry: MapEntry | undefined, groups: Groups, rootSpan: Span): App[] | undefined {
  if (!entry) {
    reader.sink.error('SMC004', rootSpan, 'missing "apps": the applications and what each may reach');
    return undefined;
  }
  // An empty `apps:` parses as null: a policy that only sets the unlabeled mode.
  if (!entry.value || (entry.value.kind === 'scalar' && entry.value.value === null)) return [];
  const apps: App[] = [];
  for (const appEntry of reader.entries(entry.value, '"apps"', undefined, 'SMC040') ?? []) {
    const problem = nameProblem(appEntry.key);
    if (problem) {
      reader.sink.error('SMC010', appEntry.keySpan, `app name "${appEntry.key}" ${problem}`);
      continue;
    }
    const app = readApp(reader, appEntry, groups);
    if (app) apps.push(app);
  }
  checkProgramsUnique(reader, apps);
  return apps;
}

function readApp(reader: YamlReader, appEntry: MapEntry, groups: Groups): App | undefined {
  const what = `app "${appEntry.key}"`;
  const fields = reader.entries(appEntry.value, what, APP_KEYS);
  if (!fields) return undefined;
  const get = (key: string): MapEntry | undefined => fields.find((e) => e.key === key);

  const domainEntry = get('domain');
  const programsEntry = get('programs');
  const runFromEntry = get('run_from');
  let domains: Spanned<string>[] = [];
  if (domainEntry) domains = checkTypes(reader, reader.stringList(domainEntry.value, `"domain" of ${what}`) ?? [], `"domain" of ${what}`);
  const programs = programsEntry ? readPrograms(reader, programsEntry, what) : [];
  if (!domainEntry && !programsEntry) {
    reader.sink.error('SMC004', appEntry.keySpan, `${what} has neither "domain" (the SELinux domain(s) that may use its traffic) nor "programs" (executables to run in a domain of their own)`);
  }
  let runFrom: App['runFrom'] = { domains: DEFAULTS.runFrom.map((value) => ({ value, span: appEntry.keySpan })), defaulted: true };
  if (runFromEntry) {
    if (!programsEntry) reader.sink.error('SMC074', runFromEntry.keySpan, `${what}: "run_from" says who runs its "programs", and the app has none`);
    runFrom = { domains: checkTypes(reader, reader.stringList(runFromEntry.value, `"run_from" of ${what}`) ?? [], `"run_from" of ${what}`), defaulted: false };
  }

  const description = get('description');
  if (description) reader.string(description.value, `"description" of ${what}`);

  const connect = readRules(reader, get('connect'), `"connect" of ${what}`, 'to', groups);
  const serve = readRules(reader, get('serve'), `"serve" of ${what}`, 'from', groups);
  if (connect.length === 0 && serve.length === 0 && !get('connect') && !get('serve')) {
    reader.sink.error('SMC044', appEntry.keySpan, `${what} has neither "connect" nor "serve" rules`);
  }
  return { name: appEntry.key, span: appEntry.keySpan, domains, programs, runFrom, connect, serve };
}

function readPrograms(reader: YamlReader, entry: MapEntry, what: string): Spanned<string>[] {
  const out: Spanned<string>[] = [];
  for (const item of reader.stringList(entry.value, `"programs" of ${what}`) ?? []) {
    const problem = programPathProblem(item.value);
    if (problem) reader.sink.error(problem.code, item.span, `program "${item.value}" ${problem.message}`);
    else if (!out.some((o) => o.value === item.value)) out.push(item);
  }
  return out;
}

/** A program runs in one app's domains: the same path in two apps would need two labels. */
function checkProgramsUnique(reader: YamlReader, apps: readonly App[]): void {
  const owner = new Map<string, { app: string; span: Span }>();
  for (const app of apps) {
    for (const program of app.programs) {
      const first = owner.get(program.value);
      if (first) reader.sink.error('SMC072', program.span, `program "${program.value}" is already in app "${first.app}" (line ${first.span.line}): a file has one label, so it runs in one app's domain`);
      else owner.set(program.value, { app: app.name, span: program.span });
    }
  }
}

function readRules(reader: YamlReader, entry: MapEntry | undefined, what: string, peerKey: 'to' | 'from', groups: Groups): TrafficRule[] {
  if (!entry) return [];
  const rules: TrafficRule[] = [];
  for (const item of reader.list(entry.value, what) ?? []) {
    const fields = reader.entries(item, `each entry of ${what}`, peerKey === 'to' ? CONNECT_KEYS : SERVE_KEYS);
    if (!fields) continue;
    const span = reader.spanOf(item);
    const peerEntry = fields.find((f) => f.key === peerKey);
    const portsEntry = fields.find((f) => f.key === 'ports');
    const peers = peerEntry ? readPeers(reader, peerEntry, groups) : 'any';
    if (!portsEntry) {
      reader.sink.error('SMC004', span, `each entry of ${what} needs "ports" (e.g. [tcp/443])`);
      continue;
    }
    const ports = readPorts(reader, portsEntry);
    if (peers !== 'any') checkFamilies(reader, peers, ports, peerKey, span);
    rules.push({ span, peers, ports });
  }
  return rules;
}

function readPeers(reader: YamlReader, entry: MapEntry, groups: Groups): PeerRange[] {
  const peers: PeerRange[] = [];
  for (const item of reader.stringList(entry.value, `"${entry.key}"`) ?? []) {
    const group = groups.get(item.value);
    if (group) {
      peers.push(...group);
      continue;
    }
    const looksLikeName = /^[A-Za-z_][A-Za-z0-9_]*$/.test(item.value);
    if (looksLikeName) {
      const suggestion = closest(item.value, groups.keys());
      reader.sink.error('SMC021', item.span, `unknown address group "${item.value}"${suggestion ? `; did you mean "${suggestion}"?` : ' (define it under "groups")'}`);
      continue;
    }
    const range = readAddress(reader, item);
    if (range) peers.push(range);
  }
  return peers;
}

function readPorts(reader: YamlReader, entry: MapEntry): PortEntry[] {
  const ports: PortEntry[] = [];
  for (const item of reader.stringList(entry.value, '"ports"') ?? []) {
    const parsed = memo(portMemo, item.value, parsePortEntry);
    if (!parsed.ok) reader.sink.error(parsed.code, item.span, parsed.message);
    else ports.push({ protocol: parsed.protocol, from: parsed.from, to: parsed.to, text: item.value, span: item.span });
  }
  return ports;
}

/** icmp needs an IPv4 peer and icmpv6 an IPv6 one, or the entry would label nothing. */
function checkFamilies(reader: YamlReader, peers: PeerRange[], ports: PortEntry[], peerKey: string, span: Span): void {
  for (const port of ports) {
    const family = protocolFamily(port.protocol);
    if (family && peers.length > 0 && !peers.some((p) => p.range.family === family)) {
      reader.sink.error('SMC023', port.span, `"${port.text}" needs an ${family === 'ipv4' ? 'IPv4' : 'IPv6'} address in "${peerKey}" (line ${span.line})`);
    }
  }
}
