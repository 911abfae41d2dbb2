// Apps by program path: names, files and rights of the generated domains (one per app and
// run_from parent) and the app's exec type. The file system and the SELinux policy are read by
// the caller and handed in (ProgramInputs), so this stays pure: the same inputs, the same module.

import type { DiagnosticSink } from '../policy/diagnostics.js';
import type { App, Policy, Spanned } from '../policy/types.js';
import type { ProgramApp, ProgramDomain, ProgramFile } from './ir.js';
import { ndpTypeName, packetTypeName, programDomainName, programExecTypeName } from './names.js';

/** What the SELinux policy says about the parents, as the CLI read it. */
export interface ProgramRights {
  /** False when the policy has no such domain. */
  hasDomain(parent: string): boolean;
  /** CIL declaring the exec type (its attributes are an executable's). */
  execTypeCil(execType: string): readonly string[];
  /** CIL for `domain`: `parent`'s rights minus packets, entered from `parent` on exec of `execType`. */
  domainCil(domain: string, parent: string, execType: string): readonly string[];
  /** The domain `parent` enters today when it runs the file at `path`, if the policy has one. */
  transitionToday(parent: string, path: string): string | undefined;
}

/** A program file as found on disk (compile: may be absent; apply: must be there). */
export type FileCheck =
  | { readonly ok: true; readonly path: string; readonly symlinkTo?: string; readonly hardLinks?: number }
  | { readonly ok: false; readonly message: string };

export interface ProgramInputs {
  readonly rights?: ProgramRights;
  /** How each written path is found on disk; without it paths are taken as written. */
  readonly checkFile?: (written: string) => FileCheck;
}

export interface LoweredPrograms {
  readonly apps: readonly ProgramApp[];
  /** Per app name: its generated domains, to be granted its packet types like `domain:` ones. */
  readonly domainsOf: ReadonlyMap<string, readonly Spanned<string>[]>;
}

export function lowerPrograms(policy: Policy, inputs: ProgramInputs, sink: DiagnosticSink): LoweredPrograms {
  const table = policy.table.value;
  const withPrograms = policy.apps.filter((app) => app.programs.length > 0);
  const apps: ProgramApp[] = [];
  const domainsOf = new Map<string, Spanned<string>[]>();
  if (withPrograms.length === 0) return { apps, domainsOf };
  // Files first: a missing program is reported without asking the SELinux policy anything.
  const filesOf = new Map(withPrograms.map((app) => [app, app.programs.flatMap((program) => fileOf(program, inputs, sink))]));
  if (sink.hasErrors) return { apps, domainsOf };
  const rights = inputs.rights;
  if (!rights) {
    sink.error(
      'SMC077',
      withPrograms[0]!.programs[0]!.span,
      '"programs" need the rules of the SELinux policy they will run under (their domains hold their parents\' rights): run where setools can read the loaded policy, or pass --selinux-policy FILE',
    );
    return { apps, domainsOf };
  }
  for (const app of withPrograms) {
    const execType = programExecTypeName(table, app.name);
    const domains = parentsOf(app, rights, sink).map((parent): ProgramDomain => ({ name: programDomainName(table, app.name, parent.value), parent: parent.value, span: parent.span }));
    const files = filesOf.get(app)!;
    for (const file of files) checkNoDomainToday(file, domains, rights, sink);
    if (domains.length === 0) continue;
    domainsOf.set(app.name, domains.map((d) => ({ value: d.name, span: d.span })));
    const cil = [...rights.execTypeCil(execType), ...domains.flatMap((d) => rights.domainCil(d.name, d.parent, execType))];
    apps.push({ app: app.name, execType, span: app.programs[0]!.span, files, fileLevel: policy.level.value.replace(/[-:].*$/, ''), domains, cil });
  }
  checkNamesDistinct(policy, apps, sink);
  return { apps, domainsOf };
}

/** The run_from domains the policy has: written ones must exist; defaults that do not are skipped. */
function parentsOf(app: App, rights: ProgramRights, sink: DiagnosticSink): Spanned<string>[] {
  const present = app.runFrom.domains.filter((d) => rights.hasDomain(d.value));
  if (!app.runFrom.defaulted) {
    for (const d of app.runFrom.domains) {
      if (!rights.hasDomain(d.value)) sink.error('SMC075', d.span, `run_from domain "${d.value}" is not in the SELinux policy`);
    }
  } else if (present.length === 0) {
    sink.error('SMC075', app.span, `app "${app.name}": none of the default run_from domains (${app.runFrom.domains.map((d) => d.value).join(', ')}) is in the SELinux policy: say who runs its programs with "run_from"`);
  }
  return present;
}

function fileOf(program: Spanned<string>, inputs: ProgramInputs, sink: DiagnosticSink): ProgramFile[] {
  const check = inputs.checkFile?.(program.value) ?? { ok: true, path: program.value };
  if (!check.ok) {
    sink.error('SMC073', program.span, `program "${program.value}" ${check.message}`);
    return [];
  }
  if (check.symlinkTo !== undefined) {
    sink.warning('SMC079', program.span, `program "${program.value}" is a symbolic link to "${check.symlinkTo}": that file gets the label (exec checks the file a link leads to)`);
  }
  if (check.hardLinks !== undefined && check.hardLinks > 1) {
    sink.warning('SMC079', program.span, `program "${check.path}" has ${check.hardLinks} hard links: a label belongs to the file, so every name of it runs in the app's domain`);
  }
  return [{ path: check.path, written: program.value, span: program.span }];
}

/** A program that enters a domain of its own today would lose it: say so, and which. */
function checkNoDomainToday(file: ProgramFile, domains: readonly ProgramDomain[], rights: ProgramRights, sink: DiagnosticSink): void {
  for (const domain of domains) {
    const today = rights.transitionToday(domain.parent, file.path);
    if (today !== undefined && today !== domain.name) {
      sink.error(
        'SMC076',
        file.span,
        `program "${file.written}" already runs in a domain of its own: ${domain.parent} enters "${today}" when it runs it. Name that domain with "domain: ${today}" instead`,
      );
      return;
    }
  }
}

/** Generated type names are built from names that cannot clash in most policies; say so when they do. */
function checkNamesDistinct(policy: Policy, apps: readonly ProgramApp[], sink: DiagnosticSink): void {
  const table = policy.table.value;
  const seen = new Map<string, string>();
  for (const app of policy.apps) {
    seen.set(packetTypeName(table, app.name, 'client'), `the connect packet type of app "${app.name}"`);
    seen.set(packetTypeName(table, app.name, 'server'), `the serve packet type of app "${app.name}"`);
  }
  seen.set(ndpTypeName(table), 'the neighbour discovery packet type');
  for (const app of apps) {
    const named: [string, string, Spanned<unknown>['span']][] = [
      [app.execType, `the exec type of app "${app.app}"`, app.span],
      ...app.domains.map((d): [string, string, Spanned<unknown>['span']] => [d.name, `the domain of app "${app.app}" run from ${d.parent}`, d.span]),
    ];
    for (const [name, what, span] of named) {
      const other = seen.get(name);
      if (other) sink.error('SMC078', span, `${what} would be named "${name}", like ${other}: rename the app`);
      else seen.set(name, what);
    }
  }
}
