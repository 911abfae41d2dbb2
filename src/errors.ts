// The one base class of the errors secmarkc throws on purpose (as ts-json-schema-generator's
// BaseError): each carries a numbered code from DIAGNOSTIC_CODES (README "Diagnostics"), a message
// a person can act on and, when it is about places in a policy, the diagnostics that point at
// them. The CLI prints them with cli/report.ts's failError, diagnostics first.

import type { Diagnostic, DiagnosticCode } from './policy/diagnostics.js';

export class SecmarkcError extends Error {
  constructor(
    readonly code: DiagnosticCode,
    message: string,
    /** The places in the policy it is about, each in the editor's form (`FILE:LINE:COL: error SMCnnn: ...`). */
    readonly diagnostics: readonly Diagnostic[] = [],
  ) {
    super(message);
    this.name = new.target.name;
  }
}
