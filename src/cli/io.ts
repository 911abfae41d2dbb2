// File edges of the CLI: read a policy (or stdin for "-") or a --ports-from file within LIMITS,
// write an output atomically.

import { closeSync, constants, fstatSync, lstatSync, openSync, readlinkSync, readSync, realpathSync, statSync, writeFileSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import atomicWrite from 'write-file-atomic';
import { fsyncDir } from '../records/state-dir.js';
import type { Diagnostic, DiagnosticCode } from '../policy/diagnostics.js';
import { LIMITS } from '../policy/limits.js';
import { fileSpan, type Span } from '../policy/span.js';
import { describeError, failRuntime } from './report.js';
import { SecmarkcError } from '../errors.js';

export interface PolicySource {
  readonly text: string;
  /** Name used in diagnostics: the path as given, or `<stdin>`. */
  readonly file: string;
}

/**
 * A policy input (the policy, or the port table of --ports-from) refused: not a regular file, too
 * large. A diagnostic like any other problem of the policy (exit 2, so `apply --on-invalid`
 * acts), unlike an I/O error.
 */
export class PolicyInputError extends SecmarkcError {
  readonly diagnostic: Diagnostic;

  constructor(code: DiagnosticCode, file: string, message: string, span: Span = fileSpan(file)) {
    const diagnostic: Diagnostic = { code, severity: 'error', message, span };
    super(code, message, [diagnostic]);
    this.diagnostic = diagnostic;
  }
}

const CHUNK = 64 * 1024;

/** What is read: the policy, or the port table of --ports-from; either may be "-", stdin (one of them at most: stdinUsers). */
export type InputKind = 'policy' | 'port table';

const NAMED: Record<InputKind, string> = { policy: 'the policy', 'port table': 'the port table (--ports-from)' };

/**
 * The policy's text. A path must name a regular file: it is looked at before it is opened, since
 * opening a device can act (a tape rewinds, a watchdog arms) and opening a FIFO blocks until a
 * writer comes; it is opened without blocking and looked at again, in case it was replaced. Stdin
 * may be anything; like a file it is read up to LIMITS.policyBytes and refused beyond.
 */
export function readPolicySource(path: string): PolicySource {
  return readInputFile(path, 'policy');
}

/** A regular file, or stdin for "-", read up to LIMITS.policyBytes (readPolicySource). */
export function readInputFile(path: string, kind: InputKind): PolicySource {
  if (path === '-') return { text: readBounded(0, '<stdin>', kind), file: '<stdin>' };
  refuseUnlessRegular(statSync(path), path, kind);
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  try {
    const stats = fstatSync(fd);
    refuseUnlessRegular(stats, path, kind);
    if (stats.size > LIMITS.policyBytes) throw tooLarge(path, `${stats.size} bytes`, kind);
    return { text: readBounded(fd, path, kind), file: path };
  } finally {
    closeSync(fd);
  }
}

function refuseUnlessRegular(stats: Stats, path: string, kind: InputKind): void {
  if (stats.isFile()) return;
  const what = stats.isDirectory()
    ? 'a directory'
    : stats.isFIFO()
      ? 'a FIFO'
      : stats.isCharacterDevice()
        ? 'a character device'
        : stats.isBlockDevice()
          ? 'a block device'
          : stats.isSocket()
            ? 'a socket'
            : 'not a regular file';
  throw new PolicyInputError('SMC090', path, `${NAMED[kind]} is ${what}, not a regular file (use "-" to read it from stdin)`);
}

function tooLarge(file: string, size: string, kind: InputKind): PolicyInputError {
  return new PolicyInputError('SMC091', file, `${NAMED[kind]} has ${size}; at most ${LIMITS.policyBytes} bytes (16 MiB) are read`);
}

/** Everything up to end of file, or a refusal as soon as it passes the limit (a file may grow while read). */
function readBounded(fd: number, file: string, kind: InputKind): string {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const chunk = Buffer.allocUnsafe(CHUNK);
    const n = readSync(fd, chunk, 0, CHUNK, null);
    if (n === 0) break;
    total += n;
    if (total > LIMITS.policyBytes) throw tooLarge(file, `more than ${LIMITS.policyBytes} bytes`, kind);
    chunks.push(n === CHUNK ? chunk : chunk.subarray(0, n));
  }
  return decodeUtf8(Buffer.concat(chunks, total), file, kind);
}

/** Strict: a byte that is not UTF-8 is an error, not U+FFFD. A BOM is kept, as Buffer.toString kept it. */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The text, or SMC099 at the line and column (UTF-16 units, as the YAML parser counts) of the first bad byte. */
function decodeUtf8(bytes: Buffer, file: string, kind: InputKind): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    const at = firstInvalidUtf8(bytes);
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < at; i++) {
      if (bytes[i] === 0x0a) {
        line++;
        lineStart = i + 1;
      }
    }
    const col = UTF8.decode(bytes.subarray(lineStart, at)).length + 1;
    const message = `${NAMED[kind]} is not valid UTF-8 (byte 0x${bytes[at]!.toString(16).padStart(2, '0')} at offset ${at}); save it as UTF-8`;
    throw new PolicyInputError('SMC099', file, message, { file, line, col, endLine: line, endCol: col + 1 });
  }
}

/**
 * Where the first ill-formed sequence starts (Unicode table 3-7: no overlong forms, no
 * surrogates, nothing above U+10FFFF, nothing cut short); bytes.length if there is none.
 */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  const inRange = (i: number, lo: number, hi: number): boolean => i < bytes.length && bytes[i]! >= lo && bytes[i]! <= hi;
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]!;
    let length = 0;
    if (b <= 0x7f) length = 1;
    else if (b >= 0xc2 && b <= 0xdf) length = inRange(i + 1, 0x80, 0xbf) ? 2 : 0;
    else if (b >= 0xe0 && b <= 0xef) {
      const [lo, hi] = b === 0xe0 ? [0xa0, 0xbf] : b === 0xed ? [0x80, 0x9f] : [0x80, 0xbf];
      length = inRange(i + 1, lo, hi) && inRange(i + 2, 0x80, 0xbf) ? 3 : 0;
    } else if (b >= 0xf0 && b <= 0xf4) {
      const [lo, hi] = b === 0xf0 ? [0x90, 0xbf] : b === 0xf4 ? [0x80, 0x8f] : [0x80, 0xbf];
      length = inRange(i + 1, lo, hi) && inRange(i + 2, 0x80, 0xbf) && inRange(i + 3, 0x80, 0xbf) ? 4 : 0;
    }
    if (length === 0) return i;
    i += length;
  }
  return bytes.length;
}

/**
 * At most one input of a command may be "-": stdin can be read once. `inputs` are the command's
 * file inputs by the name the user gave them (`POLICY`, `--ports-from`); the error to print, or
 * undefined.
 */
export function stdinConflict(inputs: Readonly<Record<string, string | undefined>>): string | undefined {
  const readers = Object.entries(inputs)
    .filter(([, value]) => value === '-')
    .map(([name]) => name);
  if (readers.length < 2) return undefined;
  return `${readers.join(' and ')} are ${readers.length === 2 ? 'both' : 'all'} "-", but stdin can be read by one of them only`;
}

/**
 * `-o FILE`: written whole or not at all (write-file-atomic: a temporary file beside the target,
 * fsynced, given the target's mode and owner, renamed over it), then the directory fsynced so the
 * rename survives a crash. A symlink is written through: the file it points to is replaced and the
 * link stays (write-file-atomic resolves it with realpath); a dangling one is refused. A target
 * that is not a regular file (/dev/null, a FIFO, /dev/stdout) is written in place, never replaced.
 */
export function writeFileAtomic(path: string, text: string): void {
  const target = statSync(path, { throwIfNoEntry: false });
  if (!target && lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink()) {
    throw new Error(`it is a symlink to ${readlinkSync(path)}, which does not exist: create the file, or give its path`);
  }
  if (target?.isDirectory()) throw new Error('it is a directory');
  if (target && !target.isFile()) {
    writeFileSync(path, text);
    return;
  }
  atomicWrite.sync(path, text, { fsync: true });
  fsyncDir(dirname(realpathSync(path)));
}

/** A command's output: to stdout (no -o, or `-o -`), or atomically to FILE (a failure is reported, exit 1). */
export function writeOutput(output: string | undefined, text: string): void {
  if (output === undefined || output === '-') {
    process.stdout.write(text);
    return;
  }
  try {
    writeFileAtomic(output, text);
  } catch (error) {
    failRuntime(`cannot write ${output}: ${describeError(error)}`);
  }
}
