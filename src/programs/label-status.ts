// For `status`: does each program file of the live policy carry its app's exec type? A file
// relabelled since (restorecon with another file context, chcon, a package upgrade that replaced
// it) no longer enters the app's domain: drift.

import type { ProgramApp } from '../compile/ir.js';
import { contextType, readFileLabel } from './labels.js';

export interface ProgramLabelStatus {
  readonly path: string;
  readonly app: string;
  readonly expected: string;
  /** The file's context now; undefined when it has none or cannot be read (see `problem`). */
  readonly label?: string;
  readonly ok: boolean;
  readonly problem?: string;
}

export function programLabelStatus(programs: readonly ProgramApp[]): ProgramLabelStatus[] {
  return programs.flatMap((app) =>
    app.files.map((file): ProgramLabelStatus => {
      const base = { path: file.path, app: app.app, expected: app.execType };
      try {
        const label = readFileLabel(file.path);
        const ok = contextType(label) === app.execType;
        return { ...base, ...(label === undefined ? {} : { label }), ok, ...(ok ? {} : { problem: `labelled ${label ?? '(nothing)'}, not ${app.execType}: it does not enter the app's domain` }) };
      } catch (error) {
        return { ...base, ok: false, problem: (error as Error).message };
      }
    }),
  );
}
