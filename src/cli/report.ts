// How the CLI prints diagnostics and runtime errors: one formatter, exit codes set, no stack traces.

import { SecmarkcError } from '../errors.js';
import { formatDiagnosticLines, type Diagnostic } from '../policy/diagnostics.js';
import { EXIT } from './exit-codes.js';

/** Each diagnostic in the editor's form (`FILE:LINE:COL: error SMCnnn: ...`), then its notes. */
export function printDiagnostics(diagnostics: readonly Diagnostic[]): void {
  for (const d of diagnostics) process.stderr.write(formatDiagnosticLines(d).join('\n') + '\n');
}

/** Invalid policy: print everything (a stage reports at most LIMITS.diagnostics), exit 2. */
export function failInvalid(diagnostics: readonly Diagnostic[]): void {
  printDiagnostics(diagnostics);
  // SMC094 stands for the problems that were counted but not kept.
  const errors = diagnostics.reduce((n, d) => n + (d.code === 'SMC094' ? (d.omitted ?? 0) : d.severity === 'error' ? 1 : 0), 0);
  process.stderr.write(`secmarkc: ${errors} error${errors === 1 ? '' : 's'}\n`);
  process.exitCode = EXIT.invalid;
}

/** A usage error found by a command (commander's own are printed by commander): exit 2. */
export function failUsage(message: string): void {
  process.stderr.write(`secmarkc: ${message}\n`);
  process.exitCode = EXIT.invalid;
}

/** A runtime failure with a message a person can act on. */
export function failRuntime(message: string): void {
  process.stderr.write(`secmarkc: ${message}\n`);
  process.exitCode = EXIT.failure;
}

/**
 * A runtime failure from an error: the places in the policy it is about (a kernel or semodule
 * refusal), then `secmarkc: [CONTEXT: ]MESSAGE`. Exit 1.
 */
export function failError(error: unknown, context?: string): void {
  if (error instanceof SecmarkcError) printDiagnostics(error.diagnostics);
  failRuntime(context === undefined ? describeError(error) : `${context}: ${describeError(error)}`);
}

export function describeError(error: unknown): string {
  if (error instanceof SecmarkcError) return error.message;
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code && !error.message.includes(code) ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}
