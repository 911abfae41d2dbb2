// The SELinux side of apps by program path, as the compiler takes it (ProgramRights): the
// parents' rights (selinux/parent-rules.ts, emitted by emit/program-domain.ts) and the exec
// transitions (selinux/exec-transitions.ts), read from one SELinux policy — the loaded one, or a
// file given with --selinux-policy — before anything is compiled.

import type { ProgramRights } from '../compile/programs.js';
import { programDomainCil, programExecTypeCil } from '../emit/program-domain.js';
import type { Policy } from '../policy/types.js';
import { execTransitions } from '../selinux/exec-transitions.js';
import { LOADED, readParentRules } from '../selinux/parent-rules.js';
import { checkProgramFile } from './files.js';
import { contextType, readFileLabel } from './labels.js';

/** Process permissions of a domain that enters G on exec, as the parent has them (see program-domain.ts). */
const ENTRY_PROCESS = ['transition', 'noatsecure', 'siginh', 'rlimitinh'];
const ENTRY_PROCESS2 = ['nnp_transition', 'nosuid_transition'];
const EXEC_FILE = ['execute', 'getattr', 'map', 'open', 'read'];

/**
 * Read what the programs of `policy` need from the SELinux policy `policyFile` (undefined: the
 * loaded one). Throws when setools cannot run or the policy cannot be read.
 */
export function readProgramRights(policy: Policy, policyFile: string | undefined): ProgramRights {
  const apps = policy.apps.filter((app) => app.programs.length > 0);
  const parents = [...new Set(apps.flatMap((app) => app.runFrom.domains.map((d) => d.value)))];
  const table = policy.table.value;
  // The programs' file types today, where the files are here and labelled: what they enter now.
  const fileTypes = new Map<string, string>();
  for (const app of apps) {
    for (const program of app.programs) {
      const found = checkProgramFile(program.value, false);
      if (!found.ok) continue;
      try {
        const type = contextType(readFileLabel(found.path));
        if (type !== undefined && /^[A-Za-z][A-Za-z0-9_]*$/.test(type)) fileTypes.set(found.path, type);
      } catch {
        // absent or unreadable: nothing to say about it here (apply reports a missing file)
      }
    }
  }
  const rules = readParentRules(policyFile ?? LOADED, parents, {
    ownTypePrefix: `${table}_`,
    // Our module's one rule that names none of our types: it must not make `domain` look like a packet attribute.
    ownRules: [{ source: 'domain', target: 'unlabeled_t', class: 'packet' }],
  });
  const exec = execTransitions(parents, [...new Set([...fileTypes.values(), rules.referenceExec.type])], policyFile, rules.referenceExec.type);
  const present = (cls: 'process' | 'process2' | 'file', perms: readonly string[]) => perms.filter((p) => rules.classes[cls].includes(p));
  const av = (source: string, target: string, cls: 'process' | 'process2' | 'file', perms: readonly string[]): string[] => {
    const kept = present(cls, perms);
    return kept.length > 0 ? [`(allow ${source} ${target} (${cls} (${kept.join(' ')})))`] : [];
  };
  const ours = (type: string) => type.startsWith(`${table}_`);

  return {
    hasDomain: (parent) => rules.parents[parent]?.exists === true,
    execTypeCil: (execType) => programExecTypeCil(execType, rules.referenceExec),
    domainCil: (domain, parent, execType) => {
      const lines = programDomainCil(rules.parents[parent]!, rules.classes, { domain, parent, execType });
      // Those that enter the parent on exec of an ordinary program (init_t → initrc_t) enter G on exec of E.
      for (const from of exec.enteredFrom[parent] ?? []) {
        lines.push(
          `; ${from} enters ${parent} when it runs an ordinary program (${rules.referenceExec.type}): it enters ${domain} when it runs ${execType}.`,
          `(typetransition ${from} ${execType} process ${domain})`,
          ...av(from, domain, 'process', ENTRY_PROCESS),
          ...av(from, domain, 'process2', ENTRY_PROCESS2),
          ...av(from, execType, 'file', EXEC_FILE),
        );
      }
      return lines;
    },
    transitionToday: (parent, path) => {
      const type = fileTypes.get(path);
      if (type === undefined || ours(type)) return undefined;
      for (const source of [parent, ...(exec.enteredFrom[parent] ?? [])]) {
        const target = exec.transitions[source]?.[type];
        if (target !== undefined && target !== parent && !ours(target)) return target;
      }
      return undefined;
    },
  };
}
