// A refused batch as diagnostics, the way nftables' nft_cmd_error reports one from its command
// locations: each refused part of the ruleset at the policy node that made it (an element at its
// port entry, with its peer as a note), with a numbered code per kind. A refusal that only
// follows from another — ENOENT because the object, map or chain it names was refused itself —
// is folded into that one: one cause, one diagnostic.

import type { BatchError } from '../netlink/decode/replies.js';
import type { OriginKind } from '../netlink/locate-error.js';
import { ERRNO } from '../netlink/wire/error.js';
import type { Diagnostic, DiagnosticCode, Note } from '../policy/diagnostics.js';
import { NO_POLICY_SPAN } from '../policy/span.js';

const CODES: Record<OriginKind, DiagnosticCode> = {
  object: 'SMC100',
  element: 'SMC101',
  map: 'SMC102',
  chain: 'SMC103',
  rule: 'SMC103',
  table: 'SMC104',
  batch: 'SMC104',
};

const PLURAL: Record<OriginKind, [string, string]> = {
  object: ['object', 'objects'],
  element: ['map element', 'map elements'],
  map: ['map', 'maps'],
  chain: ['chain', 'chains'],
  rule: ['rule', 'rules'],
  table: ['table message', 'table messages'],
  batch: ['batch message', 'batch messages'],
};

/** The secmark hint: what the kernel needs before it takes a secmark object. */
const SECMARK_NOTE =
  'the kernel takes a secmark object only with SELinux enabled and the packet type in the loaded policy (the CIL module, at this "level"), ' +
  'created by a domain that may relabelto it ("loader")';

/** One diagnostic per cause, in batch order. */
export function refusalDiagnostics(errors: readonly BatchError[]): Diagnostic[] {
  // What was refused by name, and what followed from each.
  const causes = new Map<string, Map<OriginKind, number>>();
  for (const e of errors) if (e.origin?.defines) causes.set(e.origin.defines, new Map());
  const kept: BatchError[] = [];
  for (const e of errors) {
    const origin = e.origin;
    const cause = e.error.errno === ERRNO.ENOENT ? origin?.uses?.find((name) => name !== origin.defines && causes.has(name)) : undefined;
    if (cause === undefined || origin === undefined) {
      kept.push(e);
      continue;
    }
    const followers = causes.get(cause)!;
    followers.set(origin.kind, (followers.get(origin.kind) ?? 0) + 1);
  }
  let secmarkNoted = false;
  return kept.map((e) => {
    const origin = e.origin;
    if (!origin) return { code: 'SMC104', severity: 'error', span: NO_POLICY_SPAN, message: `the kernel refused message ${e.error.request.seq} of the batch: ${e.reason}` };
    const followers = origin.defines ? causes.get(origin.defines) : undefined;
    const folded = followers && followers.size > 0 ? `; refused with it: ${[...followers].map(([kind, n]) => `${n} ${PLURAL[kind][n === 1 ? 0 : 1]}`).join(', ')}` : '';
    const notes: Note[] = [...(origin.notes ?? [])];
    // Said once: every secmark object of a host without SELinux is refused for the same reason.
    if (origin.kind === 'object' && origin.what.startsWith('secmark') && !secmarkNoted) {
      secmarkNoted = true;
      notes.push({ span: origin.span, message: SECMARK_NOTE });
    }
    return {
      code: CODES[origin.kind],
      severity: 'error',
      span: origin.span,
      message: `the kernel refused ${origin.what}: ${e.reason}${folded}`,
      ...(notes.length > 0 ? { notes } : {}),
    };
  });
}
