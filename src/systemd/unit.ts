// The systemd unit: the template shipped in packaging/systemd/secmarkc.service with the absolute
// paths of this installation filled in. Pure text in, text out; install-unit does the I/O.

import { dirname } from 'node:path';
import { SecmarkcError } from '../errors.js';

export interface UnitSettings {
  /** Absolute path of the node binary (its SELinux label decides the service's domain). */
  readonly node: string;
  /** Absolute path of bin/secmarkc.js. */
  readonly secmarkc: string;
  /** The package folder (for RequiresMountsFor and the README link). */
  readonly installDir: string;
  readonly policy: string;
  readonly stateDir: string;
  readonly onInvalid: string;
  /** Table named by the policy, when not the default: the fallback records are kept per table. */
  readonly table?: string;
  /** `SELinuxContext=` for the service, when the policy's default transition does not fit. */
  readonly selinuxContext?: string;
  /**
   * Absolute path of secmarkc-boot, the fast boot path (README, "At boot"): ExecStart runs it
   * with the full apply as its fallback. Undefined: ExecStart is the full apply.
   */
  readonly bootLoader?: string;
}

/**
 * Characters a unit file takes literally in ExecStart and RequiresMountsFor: anything else
 * (spaces, quotes, `%` specifiers, `$` variables, backslashes) would need quoting, so it is refused.
 */
const PLAIN_PATH = /^\/[A-Za-z0-9._+/-]*$/;
const CONTEXT = /^[a-z0-9_]+:[a-z0-9_]+:[a-z0-9_]+(:[a-z0-9_.,:-]+)?$/;

export class UnitError extends SecmarkcError {
  constructor(message: string) {
    super('SMC130', message);
  }
}

export function renderUnit(template: string, s: UnitSettings): string {
  for (const [what, path] of [
    ['node binary', s.node],
    ['secmarkc', s.secmarkc],
    ['installation folder', s.installDir],
    ['policy path', s.policy],
    ['state directory', s.stateDir],
    ...(s.bootLoader === undefined ? [] : [['boot loader', s.bootLoader] as const]),
  ] as const) {
    if (!PLAIN_PATH.test(path)) throw new UnitError(`${what} "${path}" must be an absolute path of letters, digits and ._+-/ only (a unit file would need it quoted)`);
  }
  if (s.selinuxContext !== undefined && !CONTEXT.test(s.selinuxContext)) throw new UnitError(`"${s.selinuxContext}" is not an SELinux context (user:role:type[:level])`);
  const values: Record<string, string> = {
    NODE: s.node,
    SECMARKC: s.secmarkc,
    INSTALL_DIR: s.installDir,
    POLICY: s.policy,
    POLICY_DIR: dirname(s.policy),
    STATE_DIR: s.stateDir,
    ON_INVALID: s.table ? `${s.onInvalid} --table ${s.table}` : s.onInvalid,
    BOOT_LOADER: s.bootLoader
      ? `${s.bootLoader} --state-dir ${s.stateDir}${s.table ? ` --table ${s.table}` : ''} ${s.policy} -- `
      : '',
    SELINUX_CONTEXT: s.selinuxContext
      ? `SELinuxContext=${s.selinuxContext}`
      : '# No SELinuxContext=: the loaded policy picks the domain (Debian refpolicy: init_t runs bin_t as initrc_t).',
  };
  return template.replace(/@([A-Z_]+)@/g, (whole, key: string) => {
    const value = values[key];
    if (value === undefined) throw new UnitError(`unit template has an unknown placeholder ${whole}`);
    return value;
  });
}
