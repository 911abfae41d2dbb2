// Numbered diagnostics with a span, and the one formatter every message goes through.
// Codes are stable: tests and users match on them; the README lists every one.

import { formatSpan, type Span } from './span.js';

export type Severity = 'error' | 'warning';

export interface Diagnostic {
  /** `SMC` and three digits; see DIAGNOSTIC_CODES. */
  readonly code: DiagnosticCode;
  readonly severity: Severity;
  readonly message: string;
  readonly span: Span;
}

/** Every code we emit, with a one-line summary (the README's table is written from this). */
export const DIAGNOSTIC_CODES = {
  SMC001: 'YAML syntax error',
  SMC002: 'unknown key',
  SMC003: 'value has the wrong type',
  SMC004: 'required key missing',
  SMC005: 'unsupported policy version',
  SMC006: 'duplicate key',
  SMC007: 'value not one of the allowed choices',
  SMC008: 'list must not be empty',
  SMC010: 'invalid name (table, app or group)',
  SMC011: 'invalid SELinux type name',
  SMC012: 'invalid MLS/MCS level',
  SMC020: 'invalid address, prefix or range',
  SMC021: 'unknown address group',
  SMC022: 'prefix has host bits set',
  SMC023: 'address family does not fit the protocol',
  SMC030: 'invalid port entry',
  SMC031: 'port out of range',
  SMC032: 'reversed port range',
  SMC033: 'unknown protocol',
  SMC034: 'ICMP takes no port',
  SMC040: 'duplicate app name',
  SMC041: 'two apps claim the same destination and port',
  SMC042: 'entries of one app partly overlap',
  SMC044: 'app has no rules',
  SMC050: '`ports: policy` without the port labels of a loaded SELinux policy',
  SMC060: 'label not exclusive: a rule of the SELinux policy lets another domain use it',
  SMC061: 'label exclusive only while booleans stay as they are (warning)',
  SMC062: 'permissive domains may use every label (warning)',
  SMC063: 'SELinux is in permissive mode (warning)',
} as const;

export type DiagnosticCode = keyof typeof DIAGNOSTIC_CODES;

export function formatDiagnostic(d: Diagnostic): string {
  return `${formatSpan(d.span)}: ${d.severity} ${d.code}: ${d.message}`;
}

/** Collects diagnostics in order; stages report everything they find, not just the first. */
export class DiagnosticSink {
  readonly items: Diagnostic[] = [];

  error(code: DiagnosticCode, span: Span, message: string): void {
    this.items.push({ code, severity: 'error', message, span });
  }

  warning(code: DiagnosticCode, span: Span, message: string): void {
    this.items.push({ code, severity: 'warning', message, span });
  }

  get hasErrors(): boolean {
    return this.items.some((d) => d.severity === 'error');
  }

  /** Source order, so a user reads them top to bottom. */
  sorted(): Diagnostic[] {
    return [...this.items].sort(
      (a, b) => a.span.file.localeCompare(b.span.file) || a.span.line - b.span.line || a.span.col - b.span.col,
    );
  }
}

/** Thrown by the CLI layer only; the compiler returns diagnostics, it never throws them. */
export class PolicyError extends Error {
  constructor(readonly diagnostics: readonly Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join('\n'));
    this.name = 'PolicyError';
  }
}
