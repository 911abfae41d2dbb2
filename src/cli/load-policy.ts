// Shared by the commands that take a POLICY argument: read + compile, or report and stop.

import { compilePolicy, type CompileResult } from '../compile/compile.js';
import { describeError, failInvalid, failRuntime, printDiagnostics } from './report.js';
import { readPolicySource } from './io.js';

type Compiled = Extract<CompileResult, { ok: true }>;

export type LoadedPolicy =
  | { readonly ok: true; readonly result: Compiled; readonly text: string }
  | { readonly ok: false; readonly reason: 'unreadable' | 'invalid' };

/** Read and compile; on failure the problem is already printed and the exit code set. */
export function loadPolicyWithSource(path: string): LoadedPolicy {
  let source;
  try {
    source = readPolicySource(path);
  } catch (error) {
    failRuntime(`cannot read policy ${path}: ${describeError(error)}`);
    return { ok: false, reason: 'unreadable' };
  }
  const result = compilePolicy(source.text, source.file);
  if (!result.ok) {
    failInvalid(result.diagnostics);
    return { ok: false, reason: 'invalid' };
  }
  printDiagnostics(result.diagnostics); // warnings
  return { ok: true, result, text: source.text };
}

export function loadPolicy(path: string): Compiled | undefined {
  const loaded = loadPolicyWithSource(path);
  return loaded.ok ? loaded.result : undefined;
}
