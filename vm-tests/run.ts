// `npm run test:vm`: builds (or reuses) the SELinux-enforcing guest, boots it under QEMU once per
// group of scenarios, reads the results from its console and reports them.
// Scenarios: vm-tests/scenarios/*.mjs (see README.md). Needs root, qemu-system-x86, debootstrap,
// busybox-static, cpio, policycoreutils and e2fsprogs; without them every scenario is skipped.
//   node --import=tsx vm-tests/run.ts [--only NAME,...] [--rebuild] [--list]
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, realpathSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ensureImage, cacheRoot } from './lib/image.js';
import { boot, killAll, accel } from './lib/qemu.js';
import { ConsoleParser, type Check, type ScenarioRun } from './lib/results.js';
import { cannotRun } from './lib/host.js';

interface Meta {
  /** Scenarios with the same boot run in one guest, in file-name order. */
  boot: string;
  /** Time the scenario may take in the guest (TCG), in seconds. */
  budgetSec: number;
  /** secmarkc commands it drives; the scenario is skipped while the CLI lacks one. */
  needs?: string[];
  title?: string;
  /** `systemd`: the guest boots with systemd as PID 1 (all scenarios of a boot must agree). */
  init?: 'systemd';
}

interface Scenario {
  name: string;
  meta: Meta;
}

const here = dirname(fileURLToPath(import.meta.url));
const project = join(here, '..');
const sec = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
const say = (s: string) => process.stdout.write(`${s}\n`);

function parseArgs(argv: string[]) {
  const out = { only: undefined as string[] | undefined, rebuild: false, list: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--rebuild') out.rebuild = true;
    else if (a === '--list') out.list = true;
    else if (a === '--only') out.only = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (a.startsWith('--only=')) out.only = a.slice(7).split(',').filter(Boolean);
    else throw new Error(`unknown argument ${a}`);
  }
  if (process.env.SMC_VM_ONLY) out.only = process.env.SMC_VM_ONLY.split(',').filter(Boolean);
  return out;
}

async function discover(): Promise<Scenario[]> {
  const dir = join(here, 'scenarios');
  const out: Scenario[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.mjs')).sort()) {
    const mod = (await import(pathToFileURL(join(dir, file)).href)) as { meta?: Partial<Meta> };
    out.push({ name: basename(file, '.mjs'), meta: { boot: 'main', budgetSec: 300, ...mod.meta } });
  }
  return out;
}

/** secmarkc commands the built CLI offers (empty when dist/ is not built). */
function cliCommands(): Set<string> {
  const r = spawnSync(process.execPath, [join(project, 'bin', 'secmarkc.js'), '--help'], { encoding: 'utf8', cwd: project });
  const cmds = new Set<string>();
  if (r.status !== 0) return cmds;
  for (const m of r.stdout.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)) cmds.add(m[1]!);
  return cmds;
}

function describe(c: Check): string {
  const d = c.detail;
  if (c.verdict === 'SKIP') return String(d.reason ?? '');
  const parts: string[] = [];
  const text = (v: unknown): string => (v === undefined ? '-' : typeof v === 'string' ? v : JSON.stringify(v));
  if ('expected' in d || 'got' in d) parts.push(`expected ${text(d.expected)}, got ${text(d.got)}`);
  for (const [k, v] of Object.entries(d)) if (k !== 'expected' && k !== 'got') parts.push(`${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return parts.join('; ');
}

/** AVC lines without their serials, ports and pids, most recent first-seen order, with counts. */
function summariseAvc(kernel: string[], max = 20): string[] {
  const seen = new Map<string, number>();
  for (const line of kernel) {
    if (!line.includes('avc:')) continue;
    const key = line
      .replace(/^.*?avc:/, 'avc:')
      .replace(/\b(pid|ino|src|dest)=\d+/g, '$1=*')
      .replace(/socket:\[\d+\]/g, 'socket:[*]')
      .replace(/\s+/g, ' ');
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  const out = [...seen].map(([l, n]) => `${n > 1 ? `${n}x ` : ''}${l}`);
  return out.length > max ? [`(${out.length - max} more kinds of AVC line before these)`, ...out.slice(-max)] : out;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  let scenarios = await discover();
  if (args.only) {
    const unknown = args.only.filter((n) => !scenarios.some((s) => s.name === n || s.name.replace(/^\d+-/, '') === n));
    if (unknown.length) throw new Error(`no such scenario: ${unknown.join(', ')}`);
    scenarios = scenarios.filter((s) => args.only!.some((n) => s.name === n || s.name.replace(/^\d+-/, '') === n));
  }
  if (args.list) {
    for (const s of scenarios) say(`${s.name}  boot=${s.meta.boot} budget=${s.meta.budgetSec}s needs=${(s.meta.needs ?? []).join(',') || '-'}  ${s.meta.title ?? ''}`);
    return 0;
  }

  const reason = cannotRun();
  if (reason) {
    say(`vm: cannot run: ${reason}`);
    say(`vm: 0 passed, 0 failed, ${scenarios.length} skipped`);
    return process.env.SMC_VM_REQUIRED ? 1 : 0;
  }

  const counts = { passed: 0, failed: 0, skipped: 0 };
  const report = (c: Check) => {
    const tag = c.verdict === 'PASS' ? 'ok  ' : c.verdict === 'FAIL' ? 'FAIL' : 'skip';
    counts[c.verdict === 'PASS' ? 'passed' : c.verdict === 'FAIL' ? 'failed' : 'skipped']++;
    say(`  ${tag} ${c.scenario} > ${c.id}${c.verdict === 'PASS' ? '' : `: ${describe(c)}`}`);
  };

  const commands = cliCommands();
  const runnable: Scenario[] = [];
  for (const s of scenarios) {
    const lacking = (s.meta.needs ?? []).filter((c) => !commands.has(c));
    if (lacking.length) report({ scenario: s.name, id: 'all', verdict: 'SKIP', detail: { reason: `secmarkc has no ${lacking.join('/')} command yet (bin/secmarkc.js --help; is dist/ built?)` } });
    else runnable.push(s);
  }
  if (!runnable.length) {
    say(`vm: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
    return 0;
  }

  const t0 = Date.now();
  say(`vm: image cache ${cacheRoot()}`);
  const image = await ensureImage(join(here, 'image'), { rebuild: args.rebuild, log: (l) => say(`vm: ${l}`) });
  say(`vm: image ${image.hash} (${String(image.info.kernel)}) ${image.built ? `built in ${sec(image.buildMs)}` : 'from cache'}`);

  const logDir = process.env.SMC_VM_LOGS ?? join(tmpdir(), `secmarkc-vm-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  mkdirSync(logDir, { recursive: true });
  const nodeBin = realpathSync(process.execPath);

  const boots = new Map<string, Scenario[]>();
  for (const s of runnable) boots.set(s.meta.boot, [...(boots.get(s.meta.boot) ?? []), s]);
  const timings: string[] = [`build ${image.built ? sec(image.buildMs) : 'cached'}`];

  // Boots run side by side, one per host core or so: semodule and V8 are single-threaded, and
  // a TCG vCPU needs a host core to itself.
  const cores = availableParallelism();
  const jobs = Math.max(1, Math.min(Number(process.env.SMC_VM_JOBS ?? cores), boots.size));
  const smp = String(Math.max(1, Math.min(2, Math.floor(cores / jobs))));
  say(`vm: ${boots.size} boot(s), ${jobs} at a time, ${smp} vCPU each`);
  const runBoot = async (bootName: string, group: Scenario[]) => {
    const names = group.map((s) => s.name);
    const inits = new Set(group.map((s) => s.meta.init ?? 'shell'));
    if (inits.size > 1) throw new Error(`boot ${bootName} mixes inits (${[...inits].join(', ')}): give those scenarios boots of their own`);
    const init = group[0]!.meta.init;
    // systemd's own start (and a semodule run by secmarkc.service at boot) come before any scenario.
    const timeoutMs = ((init === 'systemd' ? 240 : 120) + group.reduce((n, s) => n + s.meta.budgetSec, 0)) * 1000;
    const logFile = join(logDir, `boot-${bootName}.log`);
    say(`vm: boot ${bootName} (${accel()}${init ? `, ${init}` : ''}): ${names.join(', ')}; timeout ${sec(timeoutMs)}; console ${logFile}`);
    const parser = new ConsoleParser();
    const res = await boot({
      image,
      scenarios: names,
      ...(init ? { init } : {}),
      nodeDir: dirname(nodeBin),
      nodeName: basename(nodeBin),
      projectDir: project,
      smp,
      timeoutMs,
      logFile,
      onLine: (line) => {
        const r = parser.feed(line);
        if (!r) return;
        if (r.check) report(r.check);
        else if (r.kind === 'BEGIN') say(` [${bootName}] ${r.scenario}`);
        else if (r.kind === 'READY') say(`vm: boot ${bootName}: guest ready after ${parser.marks.READY}s of guest uptime`);
        else if (r.kind === 'SYSTEMD') say(`vm: boot ${bootName}: systemd starts at ${parser.marks.SYSTEMD}s`);
        else if (r.kind === 'DRIVER') say(`vm: boot ${bootName}: driver unit started at ${parser.marks.DRIVER}s`);
        else if (r.kind === 'FATAL') say(`vm: guest: ${line.slice(line.indexOf('SMC-'))}`);
      },
    });
    const ready = parser.marks.READY;
    say(`vm: boot ${bootName} finished in ${sec(res.ms)}${res.timedOut ? ' (TIMED OUT, killed)' : ''}, qemu exit ${res.exitCode}`);
    const systemd = init ? `, systemd at ${parser.marks.SYSTEMD ?? '?'}s, driver unit at ${parser.marks.DRIVER ?? '?'}s` : '';
    timings.push(`boot ${bootName} ${sec(res.ms)} (guest ready at ${ready ?? '?'}s${systemd})`);

    for (const s of group) {
      const run: ScenarioRun = parser.scenarios.get(s.name) ?? { name: s.name, checks: [], phases: [], kernel: [], logs: [] };
      if (!run.end || run.end.status !== 'ok') {
        const why = !run.end ? (res.timedOut ? `boot timed out after ${sec(timeoutMs)}` : parser.fatal.join('; ') || 'the guest stopped before the scenario ended') : run.end.status;
        report({ scenario: s.name, id: 'completed', verdict: 'FAIL', detail: { expected: 'scenario runs to its end', got: why } });
      }
      const phases = run.phases.map((p) => `${p.label} ${sec(p.ms)}`).join(', ');
      timings.push(`  ${s.name} ${run.end ? sec(run.end.ms) : '-'}${phases ? ` [${phases}]` : ''}`);
      if (run.checks.some((c) => c.verdict === 'FAIL') || !run.end || run.end.status !== 'ok') {
        say(`--- ${s.name}: guest log`);
        for (const l of run.logs.slice(-30)) say(`  log: ${l}`);
        for (const l of summariseAvc(run.kernel)) say(`  kernel: ${l}`);
        if (!run.end) for (const l of res.lines.filter((l) => !l.startsWith('SMC-RESULT')).slice(-25)) say(`  console: ${l}`);
        say(`  (full console: ${logFile})`);
      }
    }
  };
  // Longest boots first (by their scenarios' budgets): the last boot to start sets the wall time.
  const budget = (group: Scenario[]) => group.reduce((n, s) => n + s.meta.budgetSec, 0);
  const queue = [...boots].sort(([, a], [, b]) => budget(b) - budget(a));
  await Promise.all(
    Array.from({ length: jobs }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) await runBoot(...next);
    }),
  );
  timings.push(`total ${sec(Date.now() - t0)}`);
  say('vm: timings');
  for (const t of timings) say(`  ${t}`);
  say(`vm: ${counts.passed} passed, ${counts.failed} failed${counts.skipped ? `, ${counts.skipped} skipped` : ''}`);
  return counts.failed ? 1 : 0;
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    killAll();
    say(`vm: stopped by ${signal}`);
    process.exit(1);
  });
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    say(`vm: error: ${err instanceof Error ? err.message : String(err)}`);
    say('vm: 0 passed, 1 failed');
    process.exitCode = 1;
  },
);
