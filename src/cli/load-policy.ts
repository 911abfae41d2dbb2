// Shared by the commands that take a POLICY argument: read + compile, or report and stop.
// A `ports: policy` policy also needs the port labels: from --ports-from FILE, else from seinfo.

import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { lowerParsed, type CompileResult } from '../compile/compile.js';
import { parsePolicy } from '../policy/parse.js';
import type { PortTable } from '../port-labels/port-table.js';
import { parsePortTableJson } from '../port-labels/port-table-json.js';
import type { ProgramInputs, ProgramRights } from '../compile/programs.js';
import { checkProgramFile } from '../programs/files.js';
import { readProgramRights } from '../programs/rights.js';
import { LOADED_POLICY } from '../selinux/packet-users.js';
import { policyPortTable } from '../selinux/seinfo.js';
import { describeError, failInvalid, failRuntime, printDiagnostics } from './report.js';
import { PolicyInputError, readInputFile, readPolicySource } from './io.js';
import { SecmarkcError } from '../errors.js';

export interface PortsFromOption {
  portsFrom?: string;
  /** A binary SELinux policy to read instead of the loaded one (compile, check, explain, ports): also for the port labels of `ports: policy`. */
  selinuxPolicy?: string;
}

/** How `programs:` paths are taken: as written when absent (compile, check), or they must exist (apply). */
export interface LoadOptions {
  readonly programsMustExist?: boolean;
}

export function addPortsFromOption(command: Command): Command {
  return command.option(
    '--ports-from <file>',
    'port labels for `ports: policy` from FILE (saved with `secmarkc ports --json`; a regular file of at most 16 MiB, or - for stdin) instead of asking the loaded policy with seinfo',
  );
}

/**
 * The port table: from the saved file (within the limits of a policy file), or the SELinux policy
 * (--selinux-policy FILE, else the loaded one).
 * Throws PolicyInputError (a diagnostic: exit 2) or an error with a message to print.
 */
export function portTableFor(options: PortsFromOption): PortTable {
  if (options.portsFrom === undefined) return policyPortTable(options.selinuxPolicy);
  const { text, file } = readInputFile(options.portsFrom, 'port table');
  return parsePortTableJson(text, file);
}

export type Compiled = Extract<CompileResult, { ok: true }> & { readonly portTable?: PortTable };

export type LoadedPolicy =
  | { readonly ok: true; readonly result: Compiled; readonly text: string; /** The name diagnostics and spans use. */ readonly file: string }
  | { readonly ok: false; readonly reason: 'unreadable' | 'invalid' };

/** Read and compile; on failure the problem is already printed and the exit code set. */
export function loadPolicyWithSource(path: string, options: PortsFromOption = {}, load: LoadOptions = {}): LoadedPolicy {
  let source;
  try {
    source = readPolicySource(path);
  } catch (error) {
    if (error instanceof PolicyInputError) {
      failInvalid([error.diagnostic]);
      return { ok: false, reason: 'invalid' };
    }
    failRuntime(`cannot read policy ${path}: ${describeError(error)}`);
    return { ok: false, reason: 'unreadable' };
  }
  const parsed = parsePolicy(source.text, source.file);
  if (!parsed.ok) {
    failInvalid(parsed.diagnostics);
    return { ok: false, reason: 'invalid' };
  }
  let portTable: PortTable | undefined;
  if (parsed.policy.ports.value === 'policy') {
    try {
      portTable = portTableFor(options);
    } catch (error) {
      if (error instanceof PolicyInputError) {
        failInvalid([error.diagnostic]);
        return { ok: false, reason: 'invalid' };
      }
      // Without its port labels the policy cannot be compiled: like an unreadable policy.
      failRuntime(`${source.file}: "ports: policy": ${describeError(error)}`);
      return { ok: false, reason: 'unreadable' };
    }
  }
  let programs: ProgramInputs | undefined;
  if (parsed.policy.apps.some((app) => app.programs.length > 0)) {
    const checkFile = (written: string) => checkProgramFile(written, load.programsMustExist === true);
    const policyFile = options.selinuxPolicy ?? (existsSync(LOADED_POLICY) ? undefined : null);
    // Read only when the compiler asks (after the files were found): seconds of setools.
    programs = policyFile === null ? { checkFile } : { checkFile, rights: lazyRights(() => readProgramRights(parsed.policy, policyFile)) };
  }
  let result;
  try {
    result = lowerParsed(parsed, { ...(portTable ? { portTable } : {}), ...(programs ? { programs } : {}) });
  } catch (error) {
    if (!(error instanceof ProgramRightsError)) throw error;
    failRuntime(`${source.file}: "programs": ${describeError(error.reason)}`);
    return { ok: false, reason: 'unreadable' };
  }
  if (!result.ok) {
    failInvalid(result.diagnostics);
    return { ok: false, reason: 'invalid' };
  }
  printDiagnostics(result.diagnostics); // warnings
  return { ok: true, result: portTable ? { ...result, portTable } : result, text: source.text, file: source.file };
}

/** Thrown out of the compiler when reading the SELinux policy for `programs` failed. */
class ProgramRightsError extends SecmarkcError {
  constructor(readonly reason: unknown) {
    super('SMC111', 'reading the SELinux policy for programs failed');
  }
}

function lazyRights(read: () => ProgramRights): ProgramRights {
  let rights: ProgramRights | undefined;
  const get = (): ProgramRights => {
    try {
      return (rights ??= read());
    } catch (error) {
      throw new ProgramRightsError(error);
    }
  };
  return {
    hasDomain: (parent) => get().hasDomain(parent),
    execTypeCil: (execType) => get().execTypeCil(execType),
    domainCil: (domain, parent, execType) => get().domainCil(domain, parent, execType),
    transitionToday: (parent, path) => get().transitionToday(parent, path),
  };
}

export function loadPolicy(path: string, options: PortsFromOption = {}, load: LoadOptions = {}): Compiled | undefined {
  const loaded = loadPolicyWithSource(path, options, load);
  return loaded.ok ? loaded.result : undefined;
}
