// A LearnSuggestion as a YAML policy snippet for a person to review: an `apps:` block that is a
// valid policy fragment on its own, with the assumptions and every skipped observation in comments.
// Only validated names, canonical addresses and numbers reach the text (nothing needs escaping).

import { HEURISTICS, type LearnSuggestion, type Observation, type SkippedObservation } from './suggest.js';

export function emitSnippet(s: LearnSuggestion, policyFile?: string): string {
  const out: string[] = [
    '# secmarkc learn: suggested policy entries. Review them; nothing has been applied.',
    `# From ${s.avcCount} packet AVC line${s.avcCount === 1 ? '' : 's'} (${s.denied} denied, ${s.granted} granted)${range(s.first, s.last, ' ')}.`,
    `# Protocol: packet AVCs do not name it; every port entry assumes ${s.protocol} (--proto). Fix by hand where needed.`,
    `# Directions (ephemeral ports: ${s.ephemeral.from}-${s.ephemeral.to}):`,
    ...Object.values(HEURISTICS).map((h) => `#   - ${h}`),
    '# Peers are the exact addresses seen: widen them to prefixes or groups by hand.',
  ];
  if (policyFile !== undefined) out.push(`# Merged with ${policyFile}: apps marked "existing" are already there; add the entries to them.`);
  for (const skipped of s.skipped) out.push(`# skipped: ${describeSkip(skipped)}`);

  if (s.apps.length === 0) {
    out.push('apps: {}');
    return out.join('\n') + '\n';
  }
  out.push('apps:');
  for (const app of s.apps) {
    out.push(`  ${app.name}:${app.existing ? ' # existing' : ''}`);
    if (app.program !== undefined) {
      // A shared domain: the program gets a domain of its own (`programs:`), not the label for all of them.
      out.push(`    programs: ["${app.program}"] # seen as exe= of the events; runs in ${app.domain} today`);
      out.push(`    run_from: [${app.domain}]`);
    } else out.push(`    domain: ${app.domain}`);
    for (const direction of ['connect', 'serve'] as const) {
      const entries = app[direction];
      if (entries.length === 0) continue;
      out.push(`    ${direction}:`);
      for (const o of entries) {
        out.push(`      - ${direction === 'connect' ? 'to' : 'from'}: ["${o.peer}"]`);
        out.push(`        ports: [${portText(o)}] # ${evidence(o)}`);
      }
    }
  }
  return out.join('\n') + '\n';
}

export function portText(o: Pick<Observation, 'protocol' | 'port'>): string {
  return o.port === undefined ? o.protocol : `${o.protocol}/${o.port}`;
}

function evidence(o: Observation): string {
  const verdicts = [o.denied > 0 ? `${o.denied} denied` : '', o.granted > 0 ? `${o.granted} granted` : ''].filter(Boolean).join(', ');
  return `${verdicts} { ${o.permissions.join(' ')} } on ${o.packetTypes.join(', ')}; ${o.heuristics.join(', ')}${range(o.first, o.last, '; ')}; lines ${o.lines.join(', ')}`;
}

function describeSkip({ observation: o, reason }: SkippedObservation): string {
  const what = `${o.domain} ${o.direction} ${o.direction === 'connect' ? 'to' : 'from'} ${o.peer} ${portText(o)} (${o.count}x)`;
  switch (reason.kind) {
    case 'allowed':
      return `${what}: already allowed by app ${reason.app}`;
    case 'claimed':
      return `${what}: app ${reason.app} already labels it (one label per connection); add ${o.domain} to that app's domains if it should`;
    case 'conflict':
      return `${what}: suggested for ${reason.domain} (seen more often); one label per connection, give both domains to one app if both need it`;
    case 'neighbour-discovery':
      return `${what}: neighbour discovery, which the policy key neighbour_discovery: [${o.domain}] labels`;
    case 'invalid-domain':
      return `${what}: domain ${reason.problem}`;
  }
}

function range(first: number | undefined, last: number | undefined, lead: string): string {
  if (first === undefined || last === undefined) return '';
  const iso = (t: number) => new Date(t * 1000).toISOString();
  return first === last ? `${lead}at ${iso(first)}` : `${lead}${iso(first)} to ${iso(last)}`;
}
