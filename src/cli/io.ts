// File edges of the CLI: read a policy (or stdin for "-"), write an output atomically.

import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { describeError, failRuntime } from './report.js';

export interface PolicySource {
  readonly text: string;
  /** Name used in diagnostics: the path as given, or `<stdin>`. */
  readonly file: string;
}

export function readPolicySource(path: string): PolicySource {
  if (path === '-') return { text: readFileSync(0, 'utf8'), file: '<stdin>' };
  return { text: readFileSync(path, 'utf8'), file: path };
}

/** Write to a temporary file beside the target and rename: readers never see a partial file. */
export function writeFileAtomic(path: string, text: string): void {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    writeFileSync(temp, text, { mode: 0o644, flag: 'wx' });
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

/** A command's output: to stdout, or with `-o FILE` atomically to FILE (a failure is reported, exit 1). */
export function writeOutput(output: string | undefined, text: string): void {
  if (!output) {
    process.stdout.write(text);
    return;
  }
  try {
    writeFileAtomic(output, text);
  } catch (error) {
    failRuntime(`cannot write ${output}: ${describeError(error)}`);
  }
}
