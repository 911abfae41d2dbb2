// The lockdown ruleset: what `apply --on-invalid lockdown` loads, in our own table only, when the
// policy is invalid or cannot be applied. Both base chains drop everything except loopback.
//
// Why loopback stays open: it never leaves the host, and local services (resolvers on
// 127.0.0.53, databases, the administrator's tools) keep working on the console while the policy
// is fixed. Everything else, including established connections and neighbour discovery, is
// dropped: a lockdown that leaves some peers reachable would be a policy nobody wrote. No secmark
// objects, so no CIL module is needed, and once our last secmark object is gone the kernel stops
// labelling packets (selinux_secmark_enabled): loopback traffic is not refused by SELinux either.

import { generatedSpan } from '../policy/span.js';
import type { Chain, Hook, Ruleset } from './ir.js';
import { CHAIN_NAMES } from './names.js';
import { CHAIN_PRIORITY } from './lower.js';

/** A refusal of it reads `secmarkc: error SMC103: ... (the lockdown ruleset)`. */
const SPAN = generatedSpan('secmarkc', 'the lockdown ruleset');

function lockdownChain(hook: Hook): Chain {
  return {
    name: CHAIN_NAMES[hook],
    hook,
    priority: CHAIN_PRIORITY[hook],
    policy: 'drop',
    rules: [
      {
        statements: [{ kind: 'loopback', key: hook === 'input' ? 'iif' : 'oif' }, { kind: 'counter' }, { kind: 'accept' }],
        comment: 'lockdown: loopback stays open',
        span: SPAN,
      },
      { statements: [{ kind: 'counter' }], comment: 'lockdown: everything else is dropped', span: SPAN },
    ],
    span: SPAN,
  };
}

export function lockdownRuleset(table: string): Ruleset {
  return { table, family: 'inet', source: 'secmarkc lockdown', span: SPAN, objects: [], maps: [], chains: [lockdownChain('input'), lockdownChain('output')] };
}
