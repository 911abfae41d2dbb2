// A fresh folder of policies for the tests that apply one after another against the kernel:
// the example policy with its proxy on other ports, an invalid one, and a state directory path.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXAMPLE_TEXT } from './fixtures.js';

export interface PolicyWorkspace<Ports extends readonly number[] = readonly number[]> {
  readonly dir: string;
  /** p[i] is pI.yaml: the example (its proxy on tcp/3128) with the proxy on ports[i]. */
  readonly p: { readonly [I in keyof Ports]: string };
  /** The example with tcp/0 (SMC031). */
  readonly bad: string;
  /** Where the state directory goes (not created). */
  readonly state: string;
}

export function policyWorkspace<const Ports extends readonly number[]>(name: string, ports: Ports): PolicyWorkspace<Ports> {
  const dir = mkdtempSync(join(tmpdir(), `secmarkc-${name}-`));
  const write = (file: string, text: string) => {
    writeFileSync(join(dir, file), text);
    return join(dir, file);
  };
  return {
    dir,
    p: ports.map((port, i) => write(`p${i}.yaml`, EXAMPLE_TEXT.replace('tcp/3128', `tcp/${port}`))) as PolicyWorkspace<Ports>['p'],
    bad: write('bad.yaml', EXAMPLE_TEXT.replace('tcp/3128', 'tcp/0')),
    state: join(dir, 'state'),
  };
}
