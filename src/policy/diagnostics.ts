// Numbered diagnostics with a span, and the one formatter every message goes through.
// Codes are stable: tests and users match on them; the README lists every one.

import { LIMITS } from './limits.js';
import { formatSpan, type Span } from './span.js';

export type Severity = 'error' | 'warning';

/** A secondary place a diagnostic points at, printed after it as `FILE:LINE:COL: note: ...`. */
export interface Note {
  readonly span: Span;
  readonly message: string;
}

export interface Diagnostic {
  /** `SMC` and three digits; see DIAGNOSTIC_CODES. */
  readonly code: DiagnosticCode;
  readonly severity: Severity;
  readonly message: string;
  readonly span: Span;
  /** SMC094 only: how many problems it stands for. */
  readonly omitted?: number;
  /** Other places that explain it (the peer of a refused element, what a hint is about). */
  readonly notes?: readonly Note[];
}

/**
 * Every code we emit, with a one-line summary (the README's Diagnostics table lists exactly these:
 * test/diagnostic-format.test.ts). SMC0nn: the policy; SMC10n: the kernel's answer to a batch;
 * SMC11n: SELinux and its tools; SMC12n: the records; SMC13n: other files secmarkc reads or writes.
 */
export const DIAGNOSTIC_CODES = {
  SMC001: 'YAML syntax error',
  SMC002: 'unknown key',
  SMC003: 'value has the wrong type',
  SMC004: 'required key missing',
  SMC005: 'unsupported policy version',
  SMC006: 'duplicate key',
  SMC007: 'value not one of the allowed choices',
  SMC008: 'list must not be empty',
  SMC009: 'YAML tags are not supported',
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
  SMC070: 'invalid program path',
  SMC071: 'program path has a character a file context cannot hold',
  SMC072: 'the same program in two apps',
  SMC073: 'program not found, or not a regular file',
  SMC074: '"run_from" without "programs"',
  SMC075: 'run_from domain not in the SELinux policy',
  SMC076: 'program already enters a domain of its own',
  SMC077: 'programs without the rules of a loaded SELinux policy',
  SMC078: 'generated name clashes with another',
  SMC079: 'program path is a symbolic link or has several hard links (warning)',
  SMC090: 'policy (or --ports-from file) is not a regular file',
  SMC091: 'policy (or --ports-from file) is too large',
  SMC092: 'nesting is too deep',
  SMC093: 'value is too long',
  SMC094: 'too many problems: the rest are not reported',
  SMC095: 'number not written as a plain decimal integer',
  SMC096: 'port number with a leading zero',
  SMC097: 'prefix length with a leading zero',
  SMC098: 'protocol not in lower case',
  SMC099: 'policy (or --ports-from file) is not valid UTF-8',
  SMC100: 'the kernel refused a secmark (or counter) object',
  SMC101: 'the kernel refused a map element',
  SMC102: 'the kernel refused a map',
  SMC103: 'the kernel refused a chain or a rule',
  SMC104: 'the kernel refused the table or the batch',
  SMC105: 'the ruleset kept changing while applying (another program writes rules)',
  SMC106: 'not permitted to load nf_tables rules (needs CAP_NET_ADMIN)',
  SMC107: 'the netlink conversation with the kernel failed',
  SMC108: 'the network namespace cannot be opened (--netns)',
  SMC109: 'the native addon cannot be loaded',
  SMC110: 'semodule refused the CIL module, or failed',
  SMC111: 'an SELinux tool (setools) is missing or failed',
  SMC112: 'program files cannot be labelled',
  SMC113: 'no domain can be generated for a program',
  SMC120: 'the state directory or a record cannot be read, trusted or written',
  SMC121: 'another secmarkc holds the state lock',
  SMC130: 'the systemd unit cannot be installed or removed',
  SMC131: 'the port labels file (--ports-from) cannot be read',
} as const;

export type DiagnosticCode = keyof typeof DIAGNOSTIC_CODES;

/**
 * Characters a terminal or a log would act on rather than show: controls (C0, DEL, C1: newline,
 * carriage return, escape, NUL), format characters (bidi overrides and isolates, zero-width,
 * BOM), line and paragraph separators, lone surrogates; and the backslash, so that an escape
 * sequence we print cannot be confused with one the policy contains.
 */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\\]/gu;

/** Policy values up to this many characters are shown whole; longer ones are elided. */
const VALUE_SHOWN = 100;
const VALUE_HEAD = 60;
/** No formatted diagnostic is longer than this, whatever its values (plus the note of the cut). */
export const LINE_MAX = 1000;

/** `text` with every unsafe character written as an escape: `\n`, `\x1b`, `\u202e`, `\\`. */
export function escapeText(text: string): string {
  return text.replace(UNSAFE, (c) => {
    switch (c) {
      case '\\':
        return '\\\\';
      case '\n':
        return '\\n';
      case '\r':
        return '\\r';
      case '\t':
        return '\\t';
    }
    const code = c.codePointAt(0)!;
    if (code < 0x100) return `\\x${code.toString(16).padStart(2, '0')}`;
    if (code < 0x10000) return `\\u${code.toString(16).padStart(4, '0')}`;
    return `\\u{${code.toString(16)}}`;
  });
}

/** The first `length` UTF-16 units of `text`, without splitting a surrogate pair. */
function head(text: string, length: number): string {
  const code = text.charCodeAt(length - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? length - 1 : length);
}

/**
 * The one formatter: `FILE:LINE:COL: error SMCnnn: message`, always one line of bounded length
 * that shows nothing a terminal would interpret. Messages quote the policy's values in double
 * quotes; each quoted part is escaped and, when long, cut to its start and its length.
 */
export function formatDiagnostic(d: Diagnostic): string {
  return formatLine(d.span, `${d.severity} ${d.code}`, d.message);
}

/** A note, in the same form: `FILE:LINE:COL: note: message`. */
export function formatNote(note: Note): string {
  return formatLine(note.span, 'note', note.message);
}

/** The diagnostic's line and then one line per note. */
export function formatDiagnosticLines(d: Diagnostic): string[] {
  return [formatDiagnostic(d), ...(d.notes ?? []).map(formatNote)];
}

function formatLine(span: Span, label: string, text: string): string {
  // A generated span has no position: it says where it came from after the message instead.
  const why = span.generated ?? 'generated by secmarkc';
  const full = span.line > 0 || why === '' ? text : `${text} (${why})`;
  const message = full
    .split('"')
    .map((part, i) => (i % 2 === 1 && part.length > VALUE_SHOWN ? `${escapeText(head(part, VALUE_HEAD))}…[${part.length} characters]` : escapeText(part)))
    .join('"');
  const line = `${escapeText(formatSpan(span))}: ${label}: ${message}`;
  return line.length <= LINE_MAX ? line : `${head(line, LINE_MAX)}…[${line.length} characters]`;
}

/**
 * Collects diagnostics in order; stages report everything they find, not just the first — up to
 * LIMITS.diagnostics, after which they are only counted (a policy of a million bad ports must not
 * cost a million diagnostics).
 */
export class DiagnosticSink {
  readonly items: Diagnostic[] = [];
  private errors = 0;
  private dropped = 0;
  private firstDropped: Span | undefined;

  constructor(private readonly max: number = LIMITS.diagnostics) {}

  error(code: DiagnosticCode, span: Span, message: string): void {
    this.errors++;
    this.add({ code, severity: 'error', message, span });
  }

  warning(code: DiagnosticCode, span: Span, message: string): void {
    this.add({ code, severity: 'warning', message, span });
  }

  private add(d: Diagnostic): void {
    if (this.items.length < this.max) this.items.push(d);
    else if (this.dropped++ === 0) this.firstDropped = d.span;
  }

  get hasErrors(): boolean {
    return this.errors > 0;
  }

  /** Source order, so a user reads them top to bottom; then SMC094 for any not kept. */
  sorted(): Diagnostic[] {
    const out = [...this.items].sort(
      (a, b) => a.span.file.localeCompare(b.span.file) || a.span.line - b.span.line || a.span.col - b.span.col,
    );
    if (this.dropped > 0 && this.firstDropped) {
      const more = `${this.dropped} more problem${this.dropped === 1 ? '' : 's'}`;
      out.push({ code: 'SMC094', severity: 'error', message: `${more} from here on are not reported (at most ${this.max} are)`, span: this.firstDropped, omitted: this.dropped });
    }
    return out;
  }
}
