// Options shared by the commands that talk to the kernel (apply, status, remove); what they mean
// for a load is apply/kernel-target.ts.

import type { Command } from 'commander';

export function addKernelOptions(command: Command): Command {
  return command
    .option('--netns <path>', 'act in the network namespace at PATH (e.g. /run/netns/NAME or /proc/PID/ns/net)')
    .option(
      '--no-lsm',
      'for kernels without SELinux (tests, benchmarks): counter objects stand in for secmark objects, same names and ' +
        'structure; nothing is labelled, and no CIL module is installed',
    );
}
