// Where a `programs:` path leads on this host: exec labels-checks the file a symbolic link leads
// to, so that file is the one that gets the label. Compile takes an absent path as written (the
// policy may be for another host); apply needs every program to be there.

import { lstatSync, realpathSync, statSync } from 'node:fs';
import type { FileCheck } from '../compile/programs.js';
import { programPathProblem } from '../policy/program-path.js';

export function checkProgramFile(written: string, mustExist: boolean): FileCheck {
  try {
    lstatSync(written);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return mustExist ? { ok: false, message: 'does not exist on this host' } : { ok: true, path: written };
    return { ok: false, message: `cannot be read: ${(error as Error).message}` };
  }
  let path: string;
  try {
    path = realpathSync(written);
  } catch (error) {
    return { ok: false, message: `is a symbolic link that leads nowhere (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` };
  }
  const st = statSync(path);
  if (!st.isFile()) return { ok: false, message: path === written ? 'is not a regular file' : `leads to "${path}", which is not a regular file` };
  if (path !== written) {
    const problem = programPathProblem(path);
    if (problem) return { ok: false, message: `leads to "${path}", which ${problem.message}` };
  }
  return { ok: true, path, ...(path === written ? {} : { symlinkTo: path }), hardLinks: st.nlink };
}
