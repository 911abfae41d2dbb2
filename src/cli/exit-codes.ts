// Process exit codes, documented in the README and in `secmarkc --help`.
export const EXIT = {
  ok: 0,
  /** Runtime failure: I/O, the kernel or semodule refused, missing privileges. */
  failure: 1,
  /** Invalid input: the policy (or a command line) has errors. */
  invalid: 2,
  /** `status POLICY`: the live table differs from what the policy compiles to. */
  drift: 3,
  /** `explain --connect/--accept`: at least one connection would be refused. */
  refused: 4,
} as const;
