// The CIL oracle's two halves that need no tools: what a policy's module must do to the SELinux
// policy, written from policy.yaml and the README's policy reference alone (no src/ import), and
// the judgement of what setools read in the policy semodule built (test/helpers/cil-effect.py).
// test/cil-oracle.test.ts links; this file says what the link should have produced.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

export interface CilExpectation {
  /** The module name, `<table>`. */
  module: string;
  /** The packet types the module declares: in no attribute, role or alias, not permissive. */
  types: string[];
  /** Every rule the module adds, one permission each: `allow SOURCE TARGET:CLASS PERM`. */
  rules: string[];
  /** The types it names and does not declare: the policy it links into must have them. */
  uses: string[];
}

/** One rule tuple as cil-effect.py prints it: ruletype, source, target, class, permission or default, condition. */
export type RuleTuple = [string, string, string, string, string, string];

export interface CilEffect {
  newTypes: { name: string; attributes: string[]; aliases: string[]; roles: string[]; permissive: boolean }[];
  removedTypes: string[];
  onNewTypes: { rule: string; tuples: RuleTuple[] }[];
  otherRules: { added: RuleTuple[]; removed: RuleTuple[] };
  components: Record<string, { added: string[]; removed: string[] }>;
}

const TOP_KEYS = new Set(['version', 'table', 'unlabeled', 'level', 'loader', 'neighbour_discovery', 'ports', 'groups', 'apps']);
const APP_KEYS = new Set(['domain', 'description', 'connect', 'serve']);
const DEFAULT_LOADERS = ['unconfined_t', 'sysadm_t', 'initrc_t'];
const DEFAULT_NEIGHBOUR_DISCOVERY = ['kernel_t'];

const list = (x: unknown): string[] => (x === undefined || x === null ? [] : typeof x === 'string' ? [x] : (x as string[]));
const rule = (source: string, target: string, perm: string, ruletype = 'allow') => `${ruletype} ${source} ${target}:packet ${perm}`;

/**
 * The module's effect, read from the policy as its reference describes it:
 * - one packet type per app and direction with rules (`<table>_<app>_client_packet_t` for
 *   `connect`, `_server_` for `serve`), and `<table>_ndp_packet_t` unless
 *   `neighbour_discovery: []`;
 * - the app's domains `send` and `recv` on its types, `kernel_t` `send` (the kernel's own
 *   replies), the `neighbour_discovery` domains `send` and `recv` on the ndp type;
 * - the `loader` domains `relabelto` on every type a secmark object carries: ours, and with
 *   `ports: policy` the port table's packet types and the defaults `client_packet_t`, `server_packet_t`;
 * - `unlabeled: allow` → `domain` `send`/`recv` on `unlabeled_t`; `audit` → the same and an
 *   `auditallow`; `deny` → nothing.
 * `portsJson` is the port table the fixture compiles `ports: policy` with.
 */
export function expectCil(yamlText: string, portsJson?: string): CilExpectation {
  const policy = (parse(yamlText) ?? {}) as Record<string, unknown>;
  const unknownTop = Object.keys(policy).filter((k) => !TOP_KEYS.has(k));
  if (unknownTop.length > 0) throw new Error(`the oracle does not model ${unknownTop.join(', ')}: extend test/helpers/cil-oracle.ts`);
  const table = (policy.table as string | undefined) ?? 'secmarkc';
  const loaders = policy.loader === undefined ? DEFAULT_LOADERS : list(policy.loader);
  const neighbourDiscovery = policy.neighbour_discovery === undefined ? DEFAULT_NEIGHBOUR_DISCOVERY : list(policy.neighbour_discovery);
  const apps = (policy.apps ?? {}) as Record<string, Record<string, unknown>>;

  const types: string[] = [];
  const rules = new Set<string>();
  const uses = new Set<string>([...loaders, ...neighbourDiscovery]);
  for (const [name, app] of Object.entries(apps)) {
    const unknownApp = Object.keys(app).filter((k) => !APP_KEYS.has(k));
    if (unknownApp.length > 0) throw new Error(`the oracle does not model app key ${unknownApp.join(', ')} (app "${name}"): extend test/helpers/cil-oracle.ts`);
    const domains = list(app.domain);
    for (const d of domains) uses.add(d);
    for (const [key, direction] of [['connect', 'client'], ['serve', 'server']] as const) {
      if (list(app[key]).length === 0) continue;
      const type = `${table}_${name}_${direction}_packet_t`;
      types.push(type);
      for (const d of domains) for (const perm of ['send', 'recv']) rules.add(rule(d, type, perm));
      rules.add(rule('kernel_t', type, 'send'));
    }
  }
  if (neighbourDiscovery.length > 0) {
    const type = `${table}_ndp_packet_t`;
    types.push(type);
    for (const d of neighbourDiscovery) for (const perm of ['send', 'recv']) rules.add(rule(d, type, perm));
  }

  const labelled = [...types];
  if (policy.ports === 'policy') {
    if (portsJson === undefined) throw new Error('ports: policy needs the fixture\'s ports.json');
    const table = JSON.parse(portsJson) as { labels: { client: string | null; server: string | null }[] };
    const portTypes = new Set(['client_packet_t', 'server_packet_t']);
    for (const label of table.labels) for (const t of [label.client, label.server]) if (t) portTypes.add(t);
    labelled.push(...portTypes);
    for (const t of portTypes) uses.add(t);
  }
  for (const l of loaders) for (const t of labelled) rules.add(rule(l, t, 'relabelto'));

  if (policy.unlabeled === 'allow' || policy.unlabeled === 'audit') {
    for (const perm of ['send', 'recv']) rules.add(rule('domain', 'unlabeled_t', perm));
    if (policy.unlabeled === 'audit') for (const perm of ['send', 'recv']) rules.add(rule('domain', 'unlabeled_t', perm, 'auditallow'));
  } else if (policy.unlabeled !== 'deny') {
    throw new Error(`unlabeled: ${String(policy.unlabeled)} is not allow, audit or deny`);
  }
  return { module: table, types, rules: [...rules].sort(), uses: [...uses].sort() };
}

/** The expectation of a fixture folder: its policy.yaml, and its ports.json if it has one. */
export function expectFixture(dir: string): CilExpectation {
  const ports = join(dir, 'ports.json');
  return expectCil(readFileSync(join(dir, 'policy.yaml'), 'utf8'), existsSync(ports) ? readFileSync(ports, 'utf8') : undefined);
}

const tupleText = ([ruletype, source, target, cls, perm, cond]: RuleTuple) => `${ruletype} ${source} ${target}:${cls} ${perm}${cond ? ` ${cond}` : ''}`;

/**
 * What is wrong with the effect, one line per finding; [] when the module did exactly what the
 * policy says. `provided` are the types the oracle declared itself (names the policy uses that
 * Debian's refpolicy lacks): they are new, and carry nothing.
 */
export function judgeCil(expected: CilExpectation, effect: CilEffect, provided: readonly string[] = []): string[] {
  const findings: string[] = [];
  const fresh = new Set(effect.newTypes.map((t) => t.name));
  const ours = new Set([...expected.types, ...provided]);
  for (const t of expected.types) if (!fresh.has(t)) findings.push(`type ${t}: not declared`);
  for (const t of provided) if (!fresh.has(t)) findings.push(`type ${t} (the oracle's): not declared`);
  for (const t of effect.newTypes) {
    if (!ours.has(t.name)) findings.push(`type ${t.name}: declared, but the policy has no such type`);
    if (t.attributes.length > 0) findings.push(`type ${t.name}: in attribute ${t.attributes.join(', ')}`);
    if (t.aliases.length > 0) findings.push(`type ${t.name}: aliases ${t.aliases.join(', ')}`);
    if (t.roles.length > 0) findings.push(`type ${t.name}: in role ${t.roles.join(', ')}`);
    if (t.permissive) findings.push(`type ${t.name}: permissive`);
  }
  for (const t of effect.removedTypes) findings.push(`type ${t}: lost`);

  // The rules touching a new type come expanded to types; keep the tuples that name one.
  const isFresh = (tuple: RuleTuple) => fresh.has(tuple[1]) || fresh.has(tuple[2]) || fresh.has(/^default=(\S+)/.exec(tuple[4])?.[1] ?? '');
  const want = new Set(expected.rules);
  const seen = new Set<string>();
  for (const { rule: text, tuples } of effect.onNewTypes) {
    const extra = tuples.filter(isFresh).map(tupleText).filter((x) => !want.has(x));
    for (const x of tuples.filter(isFresh).map(tupleText)) seen.add(x);
    if (extra.length > 0) findings.push(`rule beyond the policy: ${text} (${extra.length} on new types, e.g. ${extra.slice(0, 2).join('; ')})`);
  }
  for (const tuple of effect.otherRules.added) {
    const text = tupleText(tuple);
    seen.add(text);
    if (!want.has(text)) findings.push(`rule beyond the policy: ${text}`);
  }
  for (const x of expected.rules) if (!seen.has(x)) findings.push(`rule missing: ${x}`);
  for (const tuple of effect.otherRules.removed) findings.push(`rule lost: ${tupleText(tuple)}`);
  for (const [component, { added, removed }] of Object.entries(effect.components)) {
    for (const x of added) findings.push(`${component} changed: added ${x}`);
    for (const x of removed) findings.push(`${component} changed: removed ${x}`);
  }
  return findings;
}
