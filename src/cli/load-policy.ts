// Shared by the commands that take a POLICY argument: read + compile, or report and stop.

import { compilePolicy, type CompileResult } from '../compile/compile.js';
import { describeError, failInvalid, failRuntime, printDiagnostics } from './report.js';
import { readPolicySource } from './io.js';

export function loadPolicy(path: string): Extract<CompileResult, { ok: true }> | undefined {
  let source;
  try {
    source = readPolicySource(path);
  } catch (error) {
    failRuntime(`cannot read policy ${path}: ${describeError(error)}`);
    return undefined;
  }
  const result = compilePolicy(source.text, source.file);
  if (!result.ok) {
    failInvalid(result.diagnostics);
    return undefined;
  }
  printDiagnostics(result.diagnostics); // warnings
  return result;
}
