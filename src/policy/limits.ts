// The bounds a policy must stay within, checked before anything grows with its size, so that a
// hostile or broken input ends as a numbered diagnostic (exit 2) instead of a crash (exit 1, or
// an abort), and `apply --on-invalid keep|lockdown` always gets to act. The README lists them.

export const LIMITS = {
  /**
   * Bytes of policy text: 16 MiB leaves room for policies of 100,000 entries written one rule per
   * line. Memory is the bound that matters: a policy costs up to ~120 bytes of heap per byte of
   * text, so 16 MiB peaks at about half of Node's default heap (bench/RESULTS.md, "Measurements behind the code").
   */
  policyBytes: 16 * 1024 * 1024,
  /**
   * Collections (mappings and lists, block or flow) inside one another. A policy needs 6 (`apps`
   * → app → `connect` → rule → `to`); both YAML parsers recurse once per level and run out of
   * stack at a few hundred to a few thousand, depending on the caller's stack.
   */
  nesting: 64,
  /** Characters in one scalar (key or value). Names are at most 32, types 128; a description is prose. */
  scalarLength: 4096,
  /** Problems reported per stage; the rest are counted in one last diagnostic. */
  diagnostics: 100,
} as const;
