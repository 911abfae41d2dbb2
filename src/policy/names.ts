// Identifier rules. Every name that reaches CIL or nft is checked here, never quoted or escaped:
// the allowed alphabets contain nothing that could break out of either language.

/** Table, app and group names: they become parts of SELinux type and nft object names. */
export const NAME_PATTERN = /^[a-z][a-z0-9_]*$/;
export const NAME_MAX = 32;

/** SELinux type names as refpolicy writes them (no CIL namespaces: no dots). */
export const TYPE_PATTERN = /^[A-Za-z][A-Za-z0-9_]*$/;
export const TYPE_MAX = 128;

/** `s0`, `s0:c1,c3`, `s0-s15:c0.c1023`. */
const SENSITIVITY = String.raw`s\d{1,4}(?::c\d{1,4}(?:[.,]c\d{1,4})*)?`;
export const LEVEL_PATTERN = new RegExp(`^${SENSITIVITY}(?:-${SENSITIVITY})?$`);

export function nameProblem(name: string): string | undefined {
  if (!NAME_PATTERN.test(name)) return 'must start with a lowercase letter and contain only a-z, 0-9 and _';
  if (name.length > NAME_MAX) return `is longer than ${NAME_MAX} characters`;
  if (name.includes('__') || name.endsWith('_')) return 'must not contain "__" or end with "_"';
  return undefined;
}

export function typeProblem(name: string): string | undefined {
  if (!TYPE_PATTERN.test(name)) return 'is not a valid SELinux type name (letters, digits and _, starting with a letter)';
  if (name.length > TYPE_MAX) return `is longer than ${TYPE_MAX} characters`;
  return undefined;
}
