// Program paths (`programs:`): absolute, normal, and written in an alphabet that a file context
// (a regular expression inside a quoted CIL string, one field of file_contexts) holds as is.
// What the alphabet leaves out (whitespace, quotes, backslash, controls, regex brackets, non-ASCII)
// is refused rather than escaped: such paths are rare among executables, and an escape wrong by one
// character would label the wrong file.

/** Characters allowed in a program path; `.` and `+` are escaped in the file context. */
const PATH_ALPHABET = /^[A-Za-z0-9._+@%=,:~/-]+$/;
/** PATH_MAX, as the kernel counts it (with the terminating NUL). */
export const PROGRAM_PATH_MAX = 4095;

export type ProgramPathProblem = { readonly code: 'SMC070' | 'SMC071'; readonly message: string };

export function programPathProblem(path: string): ProgramPathProblem | undefined {
  if (!path.startsWith('/')) return { code: 'SMC070', message: 'is not an absolute path (programs are named by their full path, e.g. /usr/local/bin/fetch)' };
  if (path.length > PROGRAM_PATH_MAX) return { code: 'SMC070', message: `is longer than ${PROGRAM_PATH_MAX} characters (PATH_MAX)` };
  if (!PATH_ALPHABET.test(path)) {
    const bad = [...path].find((c) => !PATH_ALPHABET.test(c)) ?? '';
    return { code: 'SMC071', message: `contains "${bad}", which a file context cannot hold as written: allowed are letters, digits and . _ + @ % = , : ~ / -` };
  }
  if (path.endsWith('/')) return { code: 'SMC070', message: 'ends with "/": a program is a file, not a directory' };
  const segments = path.slice(1).split('/');
  if (segments.some((s) => s === '')) return { code: 'SMC070', message: 'contains "//": write the path in its normal form' };
  if (segments.some((s) => s === '.' || s === '..')) return { code: 'SMC070', message: 'contains "." or ".." segments: write the path in its normal form' };
  return undefined;
}

/** The file-context regular expression that matches exactly `path` (validated above). */
export function fileContextRegex(path: string): string {
  return path.replace(/[.+]/g, (c) => `\\${c}`);
}
