// What a command acts on in the kernel: the network namespace (--netns) and whether the kernel
// has SELinux (--no-lsm: counter objects stand in for secmark objects). The options themselves
// are defined in cli/kernel-options.ts.

import { closeSync, openSync } from 'node:fs';
import type { Ruleset } from '../compile/ir.js';
import { withCounterObjects } from '../compile/substitute.js';
import { SecmarkcError } from '../errors.js';

export interface KernelOptions {
  netns?: string;
  lsm: boolean;
}

/** The ruleset to load: as compiled, or with counter stand-ins under --no-lsm. */
export function rulesetFor(ruleset: Ruleset, options: KernelOptions): Ruleset {
  return options.lsm ? ruleset : withCounterObjects(ruleset);
}

/** --netns names something that cannot be opened: nothing was sent. */
export class NetnsError extends SecmarkcError {
  constructor(message: string, options: { cause: unknown }) {
    super('SMC108', message);
    this.cause = options.cause;
  }
}

/** Run `body` with the namespace fd open (if --netns was given), closing it afterwards. */
export async function withNetns<T>(options: KernelOptions, body: (netnsFd: number | undefined) => Promise<T>): Promise<T> {
  if (!options.netns) return body(undefined);
  let fd: number;
  try {
    fd = openSync(options.netns, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new NetnsError(`--netns ${options.netns}: cannot open it (${code}): give a network namespace such as /run/netns/NAME or /proc/PID/ns/net`, { cause: error });
  }
  try {
    return await body(fd);
  } finally {
    closeSync(fd);
  }
}
