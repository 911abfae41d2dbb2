// SELinux labels of program files: read with stat(1), set from the file contexts our module
// installed with restorecon(8) (so a full relabel keeps them), put back with chcon(1). Only the
// listed files are touched, never a directory or anything recursive.

import { runTool } from '../selinux/tools.js';
import { SecmarkcError } from '../errors.js';

export class ProgramLabelError extends SecmarkcError {
  constructor(message: string) {
    super('SMC112', message);
  }
}

/** The file's security context (`system_u:object_r:bin_t:s0`), or undefined when it has none. */
export function readFileLabel(path: string): string | undefined {
  const r = runTool('stat', ['--printf=%C', '--', path]);
  if (r.status !== 0) throw new ProgramLabelError(`cannot read the label of ${path}: ${r.stdout.trim()}`);
  const label = r.stdout.trim();
  return label === '' || label === '?' ? undefined : label;
}

/** The type field of a context. */
export function contextType(context: string | undefined): string | undefined {
  return context?.split(':')[2];
}

/** Label `path` as the file contexts say (restorecon changes the type only). */
export function restoreconFile(path: string): void {
  const r = runTool('restorecon', ['--', path]);
  if (r.status !== 0) throw new ProgramLabelError(`restorecon ${path} failed: ${r.stdout.trim()}`);
}

/** Put `context` back on `path`. */
export function setFileLabel(path: string, context: string): void {
  const r = runTool('chcon', ['--', context, path]);
  if (r.status !== 0) throw new ProgramLabelError(`chcon ${context} ${path} failed: ${r.stdout.trim()}`);
}
