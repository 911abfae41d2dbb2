// compilePolicy: the pure front half of the pipeline, text → IR, with all diagnostics.

import type { Diagnostic } from '../policy/diagnostics.js';
import { parsePolicy } from '../policy/parse.js';
import type { Policy } from '../policy/types.js';
import type { CompiledPolicy } from './ir.js';
import { lowerPolicy, type LowerOptions } from './lower.js';

export type CompileResult =
  | { readonly ok: true; readonly policy: Policy; readonly compiled: CompiledPolicy; readonly diagnostics: readonly Diagnostic[] }
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };

export function compilePolicy(text: string, file: string, options: LowerOptions = {}): CompileResult {
  const parsed = parsePolicy(text, file);
  if (!parsed.ok) return parsed;
  return lowerParsed(parsed, options);
}

/** The back half, for callers that look at the parsed policy first (e.g. to fetch its port labels). */
export function lowerParsed(parsed: Extract<ReturnType<typeof parsePolicy>, { ok: true }>, options: LowerOptions = {}): CompileResult {
  const lowered = lowerPolicy(parsed.policy, options);
  if (!lowered.ok) return { ok: false, diagnostics: [...parsed.diagnostics, ...lowered.diagnostics] };
  return { ok: true, policy: parsed.policy, compiled: lowered.compiled, diagnostics: [...parsed.diagnostics, ...lowered.diagnostics] };
}
