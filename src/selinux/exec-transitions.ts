// Domain transitions on exec, for apps by program path. Two questions, one policy load:
// - who enters each run_from domain R today on exec of an ordinary program (bin_t)? systemd
//   (init_t) enters initrc_t: a service's program runs in initrc_t. Those domains enter the
//   generated domain of R too, so a service runs in it;
// - does a program's file type T already lead somewhere from R or those domains (sshd_exec_t →
//   sshd_t)? Then the program has a domain of its own, which a generated one must not replace.

import { runToolWithInput } from './tools.js';
import { setoolsPython } from './packet-users.js';

export interface ExecTransitions {
  /** Per run_from domain: the other domains that enter it on exec of the reference type. */
  readonly enteredFrom: Readonly<Record<string, readonly string[]>>;
  /** Per source domain and file type: the domain a `type_transition` enters. */
  readonly transitions: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

const QUERY = String.raw`
import json, sys
import setools
path = sys.argv[1]
policy = setools.SELinuxPolicy(None if path == "loaded" else path)
ask = json.load(sys.stdin)
def expand(t):
    return {str(x) for x in t.expand()} if isinstance(t, setools.policyrep.TypeAttribute) else {str(t)}
process = policy.lookup_class("process")
# One pass over the rules: TERuleQuery walks all of them for every question.
rules = [(expand(r.source), expand(r.target), str(r.default)) for r in policy.terules()
         if r.ruletype == setools.TERuletype.type_transition and r.tclass == process]
entered = {}
for r in ask["runFrom"]:
    sources = set()
    for s, t, d in rules:
        if d == r and ask["reference"] in t:
            sources |= s
    sources.discard(r)
    entered[r] = sorted(sources)
wanted = set(ask["runFrom"]) | {x for v in entered.values() for x in v}
transitions = {s: {} for s in sorted(wanted)}
for s, t, d in rules:
    for src in s & wanted:
        for ft in t & set(ask["fileTypes"]):
            transitions[src][ft] = d
json.dump({"enteredFrom": entered, "transitions": transitions}, sys.stdout)
`;

const NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

export function execTransitions(runFrom: readonly string[], fileTypes: readonly string[], policyFile?: string, reference = 'bin_t'): ExecTransitions {
  for (const name of [...runFrom, ...fileTypes, reference]) if (!NAME.test(name)) throw new Error(`not a type name: ${JSON.stringify(name)}`);
  const r = runToolWithInput(setoolsPython(), ['-c', QUERY, policyFile ?? 'loaded'], JSON.stringify({ runFrom, fileTypes, reference }));
  if (r.status !== 0) throw new Error(`reading ${policyFile ?? 'the loaded SELinux policy'} with setools failed (exit ${r.status}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  const data = JSON.parse(r.stdout) as ExecTransitions;
  const names = (list: unknown): boolean => Array.isArray(list) && list.every((x) => typeof x === 'string' && NAME.test(x));
  const ok =
    Object.values(data.enteredFrom ?? {}).every(names) &&
    Object.values(data.transitions ?? {}).every((m) => Object.entries(m).every(([k, v]) => NAME.test(k) && NAME.test(v)));
  if (!ok) throw new Error('setools query printed names that are not type names');
  return data;
}
