// Installing and removing our CIL module with semodule(8). A module is installed only when its
// text changed since the last successful install (kept in the state directory), and a semodule
// error that names a line of our CIL is mapped back to the policy line that produced it.

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { DEFAULT_STATE_DIR, readTrusted, writeFileDurably } from '../records/state-dir.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CilModule } from '../compile/ir.js';
import { cilLineSpan, emitCil } from '../emit/cil.js';
import { SecmarkcError } from '../errors.js';
import type { Diagnostic } from '../policy/diagnostics.js';
import { runTool } from './tools.js';

/** semodule refused our module or failed: `diagnostics` name the policy lines behind the CIL it named. */
export class ModuleError extends SecmarkcError {
  constructor(
    message: string,
    readonly detail: string,
    diagnostics: readonly Diagnostic[] = [],
  ) {
    super('SMC110', message, diagnostics);
  }
}

export function listModules(): Set<string> {
  const r = runTool('semodule', ['-l']);
  if (r.status !== 0) throw new ModuleError(`semodule -l failed: ${r.stderr.trim()}`, r.stderr);
  return new Set(r.stdout.split('\n').map((l) => l.trim().split(/\s+/)[0] ?? '').filter(Boolean));
}

/** Where semodule -i (priority 400) keeps a module in the store of the configured policy. */
function storePath(name: string): string | undefined {
  try {
    const config = readFileSync('/etc/selinux/config', 'utf8');
    const type = /^\s*SELINUXTYPE\s*=\s*([A-Za-z0-9_-]+)\s*$/m.exec(config)?.[1];
    return type ? `/var/lib/selinux/${type}/active/modules/400/${name}` : undefined;
  } catch {
    return undefined;
  }
}

/** Is the module installed? The store is read directly; `semodule -l` only as a fallback. */
export function moduleInstalled(name: string): boolean {
  const path = storePath(name);
  if (path !== undefined) return existsSync(path);
  return listModules().has(name);
}

function statePath(stateDir: string, name: string): string {
  return join(stateDir, `${name}.cil`);
}

/** Comments name the policy file; applying the same policy from elsewhere is no change. */
function withoutComments(cil: string): string {
  return cil
    .split('\n')
    .filter((line) => !line.startsWith(';'))
    .join('\n');
}

/** True when semodule already has this module text installed (by our record), comments aside. */
function moduleUpToDate(name: string, text: string, stateDir: string): boolean {
  // Trusted like the records (no symlink, owned by root): a planted file must not skip an install.
  const kept = readTrusted(statePath(stateDir, name));
  if (kept === undefined) return false;
  if (withoutComments(kept.toString('utf8')) !== withoutComments(text)) return false;
  return moduleInstalled(name);
}

/** What is installed under NAME now: nothing, or a module whose text we know (or not). */
export type InstalledModule = { readonly installed: false } | { readonly installed: true; readonly text?: string };

export function installedModule(name: string, stateDir = DEFAULT_STATE_DIR): InstalledModule {
  if (!moduleInstalled(name)) return { installed: false };
  const kept = readTrusted(statePath(stateDir, name));
  return kept === undefined ? { installed: true } : { installed: true, text: kept.toString('utf8') };
}

/** Install if changed. Returns whether semodule ran. */
export function installModule(module: CilModule, stateDir = DEFAULT_STATE_DIR): boolean {
  const text = emitCil(module);
  if (moduleUpToDate(module.name, text, stateDir)) return false;
  installText(module.name, text, stateDir, (stderr) => explainFailure(module, stderr));
  return true;
}

function installText(name: string, text: string, stateDir: string, explain: (stderr: string) => ModuleError): void {
  const dir = mkdtempSync(join(tmpdir(), 'secmarkc-cil-'));
  try {
    const file = join(dir, `${name}.cil`);
    writeFileSync(file, text, { mode: 0o600 });
    const r = runTool('semodule', ['-i', file]);
    if (r.status !== 0) throw explain(r.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  writeFileDurably(statePath(stateDir, name), [Buffer.from(text)], stateDir);
}

/**
 * Puts back the module an apply replaced and then refused to use (`previous` from
 * installedModule). Returns what it did, for the log.
 */
export function restoreModule(name: string, previous: InstalledModule, stateDir = DEFAULT_STATE_DIR): string {
  if (!previous.installed) {
    removeModule(name, stateDir);
    return `removed CIL module ${name} again`;
  }
  if (previous.text === undefined) return `left the new CIL module ${name} installed: the text of the one before is not in ${stateDir}`;
  installText(name, previous.text, stateDir, (stderr) => new ModuleError(`semodule refused the previous module ${name} while restoring it: ${stderr.trim().split('\n').slice(-3).join(' | ')}`, stderr));
  return `put the previous CIL module ${name} back`;
}

export function removeModule(name: string, stateDir = DEFAULT_STATE_DIR): boolean {
  rmSync(statePath(stateDir, name), { force: true });
  if (!moduleInstalled(name)) return false;
  const r = runTool('semodule', ['-r', name]);
  if (r.status !== 0) throw new ModuleError(`semodule -r ${name} failed: ${r.stderr.trim()}`, r.stderr);
  return true;
}

/**
 * semodule reports CIL problems against the module's copy in its store (`.../NAME/cil:LINE`)
 * or the file given (`NAME.cil:LINE`): each such line becomes a diagnostic at the policy node
 * that made that CIL line (SMC110), with libsepol's words; semodule's last lines are the message.
 */
export function explainFailure(module: CilModule, stderr: string): ModuleError {
  const diagnostics: Diagnostic[] = [];
  // Our CIL line as semodule names it: the file given, or the module's copy in its store.
  const cilLine = `(?:${module.name}\\.cil|/${module.name}/cil):(\\d+)`;
  const pattern = new RegExp(`^(.*?)\\s*(?:at |in )?\\S*${cilLine}`, 'gm');
  const seen = new Set<number>();
  for (const match of stderr.matchAll(pattern)) {
    const line = Number(match[2]);
    if (seen.has(line)) continue;
    seen.add(line);
    const origin = cilLineSpan(module, line);
    if (!origin?.span) continue;
    const said = (match[1] ?? '').trim().replace(/\s+(at|in)$/, '');
    const message = `SELinux refused ${origin.text}${said ? `: ${said}` : ''}`;
    const notes = /resolve/i.test(said) ? [{ span: origin.span, message: 'a type it names is not in the loaded SELinux policy (seinfo -t NAME lists one that is)' }] : [];
    diagnostics.push({ code: 'SMC110', severity: 'error', span: origin.span, message, ...(notes.length > 0 ? { notes } : {}) });
  }
  // The lines that name no CIL line of ours (those are the diagnostics): libsemanage's verdict.
  const naming = new RegExp(cilLine);
  const rest = stderr.split('\n').filter((l) => l.trim() !== '' && !(diagnostics.length > 0 && naming.test(l)));
  const summary = rest.slice(-3).join(' | ').trim();
  return new ModuleError(`semodule refused module ${module.name}: ${summary}`, stderr, diagnostics);
}
