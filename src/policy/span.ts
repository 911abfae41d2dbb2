// Source positions. Every policy node and every IR node carries one, so that a
// diagnostic — ours or the kernel's — can point at the line that caused it.

/** A 1-based position range in a policy file. */
export interface Span {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly endLine: number;
  readonly endCol: number;
}

export function formatSpan(span: Span): string {
  return `${span.file}:${span.line}:${span.col}`;
}

/** A span for things the compiler makes up itself (defaults), pointing at the file start. */
export function fileSpan(file: string): Span {
  return { file, line: 1, col: 1, endLine: 1, endCol: 1 };
}
