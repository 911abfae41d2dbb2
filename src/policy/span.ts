// Source positions. Every policy node and every IR node carries one, so that a
// diagnostic — ours or the kernel's — can point at the line that caused it.

/**
 * A 1-based position range in a policy file. Line 0 stands for something the compiler made up
 * itself (a default, a chain every ruleset has): it has no place in the file, and says why.
 */
export interface Span {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly endLine: number;
  readonly endCol: number;
  /** Line 0 only: what made it, e.g. `"loader" is not written: the default`. */
  readonly generated?: string;
}

/** `FILE:LINE:COL`, or `FILE` for a generated span (editors and compilers print no position then). */
export function formatSpan(span: Span): string {
  return span.line > 0 ? `${span.file}:${span.line}:${span.col}` : span.file;
}

/** A span for what the compiler makes up itself, with why (printed after the message). */
export function generatedSpan(file: string, why?: string): Span {
  return { file, line: 0, col: 0, endLine: 0, endCol: 0, ...(why === undefined ? {} : { generated: why }) };
}

/** Where nothing in a policy made it (a batch of `remove`): printed `secmarkc: error SMCnnn: ...`. */
export const NO_POLICY_SPAN: Span = generatedSpan('secmarkc', '');

/** A span for the whole file (problems with the file itself: too large, not UTF-8). */
export function fileSpan(file: string): Span {
  return { file, line: 1, col: 1, endLine: 1, endCol: 1 };
}
