// The bounds a policy must stay within, checked before anything grows with its size, so that a
// hostile or broken input ends as a numbered diagnostic (exit 2) instead of a crash (exit 1, or
// an abort), and `apply --on-invalid keep|lockdown` always gets to act. The README lists them.

export const LIMITS = {
  /**
   * Collections (mappings and lists, block or flow) inside one another. A policy needs 6 (`apps`
   * → app → `connect` → rule → `to`); both YAML parsers recurse once per level and run out of
   * stack at a few hundred to a few thousand, depending on the caller's stack.
   */
  nesting: 64,
} as const;
