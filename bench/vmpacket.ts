// bench/vmpacket: the per-packet benchmark in the SELinux-enforcing test guest (vm-tests/), with
// real secmark objects. The host prepares everything in build/vmbench/ (inside the project,
// which the guest sees read-only over 9p): the loadgen built statically, secmarkc's policy at each
// BENCH_VM_SIZES (the loadgen app in smc_a_t plus one filler app in smc_b_t, so that every size
// has the same CIL module), the linear layout's nft text at each BENCH_VM_LINEAR_SIZES, and the
// guest's config. Then it boots one guest that runs bench/vm/guest-packet.mjs and turns its
// `BENCH` console lines into a Markdown section.
// Knobs: BENCH_VM_SIZES, BENCH_VM_LINEAR_SIZES, BENCH_VM_LINEAR_PROBE (one timed load of a
// larger linear layout; 0: none), BENCH_VM_SECONDS, BENCH_VM_RUNS.

import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compilePolicy } from '../src/compile/compile.js';
import { cannotRun } from '../vm-tests/lib/host.js';
import { ensureImage } from '../vm-tests/lib/image.js';
import { accel, boot, killAll } from '../vm-tests/lib/qemu.js';
import { ConsoleParser, type ScenarioRun } from '../vm-tests/lib/results.js';
import { generatePolicy } from './generate.js';
import { linearNftText } from './packet/linear.js';
import { MODES } from './packet/loadgen.js';
import { systemLine } from './system.js';
import { vmReport, type GuestConfig, type VmResult } from './vm/report.js';

const project = join(dirname(fileURLToPath(import.meta.url)), '..');
const share = join(project, 'build', 'vmbench');
const list = (v: string | undefined, d: string): number[] => (v ?? d).split(',').filter(Boolean).map(Number);
const SIZES = list(process.env.BENCH_VM_SIZES, '10,1000,100000');
const LINEAR_SIZES = list(process.env.BENCH_VM_LINEAR_SIZES, '10,1000,10000,100000');
// One load of a larger linear layout, timed (not measured: see the output), within a limit.
const LINEAR_PROBE = Number(process.env.BENCH_VM_LINEAR_PROBE ?? 100000);
const LINEAR_PROBE_LIMIT_SEC = 240;
const SECONDS = Number(process.env.BENCH_VM_SECONDS ?? 2);
const RUNS = Number(process.env.BENCH_VM_RUNS ?? 3);
const TABLE = 'secmarkc_bench';
const PORT = 5001;
const DOMAIN = 'smc_a_t';
const OTHER_DOMAIN = 'smc_b_t';
// Over loopback the server's end sees the input chain's serve label, so the app both connects
// and serves. Entries: 2 connect (tcp, udp to 127.0.0.1) + 2 serve (tcp, udp from anywhere).
const LOADGEN_APP = `  loadgen:\n    domain: ${DOMAIN}\n    connect:\n      - to: [127.0.0.1]\n        ports: [tcp/${PORT}, udp/${PORT}]\n    serve:\n      - ports: [tcp/${PORT}, udp/${PORT}]\n`;
const LOADGEN_ENTRIES = 4;
// nft runs as iptables_t (refpolicy labels /usr/sbin/nft iptables_exec_t): it creates the linear
// layout's secmark objects, so it needs relabelto like secmarkc's own loader domains.
const LOADERS = 'loader: [unconfined_t, sysadm_t, initrc_t, iptables_t]\n';

function policyText(entries: number): string {
  if (entries <= LOADGEN_ENTRIES) throw new Error(`BENCH_VM_SIZES: ${entries} is too small (the loadgen app has ${LOADGEN_ENTRIES} entries; the filler app needs one more)`);
  const text = generatePolicy(entries - LOADGEN_ENTRIES, 'allow', LOADGEN_APP, { apps: 1, domain: () => OTHER_DOMAIN });
  return text.replace(/^unlabeled: .*\n/m, (line) => line + LOADERS);
}

function buildStaticLoadgen(dir: string): void {
  const bin = join(dir, 'loadgen');
  const r = spawnSync('gcc', ['-O2', '-static', '-Wall', '-o', bin, join(project, 'bench', 'packet', 'loadgen.c')], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(`gcc -O2 -static loadgen.c failed (Debian packages: gcc, libc6-dev): ${r.error?.message ?? r.stderr}`);
  chmodSync(bin, 0o755);
}

/** Writes the guest's inputs; returns its config. */
function prepare(): GuestConfig {
  rmSync(share, { recursive: true, force: true });
  mkdirSync(share, { recursive: true });
  buildStaticLoadgen(share);
  const configs: GuestConfig['configs'] = [{ kind: 'none', size: 0, label: 'no ruleset' }];
  const smallest = compilePolicy(policyText(SIZES[0] ?? 10), 'bench.yaml');
  if (!smallest.ok) throw new Error('benchmark policy does not compile');
  const contexts = smallest.compiled.ruleset.objects.flatMap((o) => (o.context ? [o.context] : []));
  for (const n of SIZES) {
    writeFileSync(join(share, `policy-${n}.yaml`), policyText(n));
    configs.push({ kind: 'secmarkc', size: n, label: `secmarkc, ${n.toLocaleString('en')} entries` });
  }
  const writeLinear = (n: number): void => {
    const c = compilePolicy(policyText(n), 'bench.yaml');
    if (!c.ok) throw new Error('benchmark policy does not compile');
    writeFileSync(join(share, `linear-${n}.nft`), linearNftText(c.compiled.ruleset, 'loadgen_client', ['loadgen_client', 'loadgen_server']));
  };
  for (const n of LINEAR_SIZES) {
    writeLinear(n);
    configs.push({ kind: 'linear', size: n, label: `linear, ${n.toLocaleString('en')} rules` });
  }
  const probe = LINEAR_PROBE > 0 && !LINEAR_SIZES.includes(LINEAR_PROBE) ? { size: LINEAR_PROBE, limitSec: LINEAR_PROBE_LIMIT_SEC } : undefined;
  if (probe) writeLinear(probe.size);
  // Time in the guest: the module install (up to ~200 s on a busy host), every load of every
  // round, and the measurements with their process starts.
  const loadSec = 240 + RUNS * (SIZES.reduce((s, n) => s + 5 + n / 1000, 0) + LINEAR_SIZES.reduce((s, n) => s + 5 + n / 200, 0));
  const measureSec = RUNS * configs.length * MODES.length * (SECONDS + 8) + (probe?.limitSec ?? 0);
  const config: GuestConfig = { table: TABLE, contexts, port: PORT, domain: DOMAIN, otherDomain: OTHER_DOMAIN, seconds: SECONDS, runs: RUNS, modes: [...MODES], configs, ...(probe ? { linearProbe: probe } : {}), budgetSec: Math.ceil(loadSec + measureSec + 120) };
  writeFileSync(join(share, 'config.json'), JSON.stringify(config, null, 2));
  return config;
}

export async function runVmPacketBench(): Promise<string> {
  const title = '### Per-packet cost in the VM (SELinux enforcing, TCG)';
  const reason = cannotRun();
  if (reason) return `${title}\n\n(skipped: ${reason})`;
  const config = prepare();
  const progress = (s: string): boolean => process.stderr.write(`vmpacket: ${s}\n`);
  const image = await ensureImage(join(project, 'vm-tests', 'image'), { log: progress });
  const nodeBin = realpathSync(process.execPath);
  const logFile = join(tmpdir(), `secmarkc-vmpacket-${process.pid}.log`);
  const name = 'bench/vm/guest-packet';
  const parser = new ConsoleParser();
  progress(`booting (${accel()}, image ${image.hash}), guest budget ${config.budgetSec} s, console ${logFile}`);
  const stop = () => killAll();
  process.once('SIGINT', stop).once('SIGTERM', stop);
  const res = await boot({
    image,
    scenarios: [name],
    nodeDir: dirname(nodeBin),
    nodeName: basename(nodeBin),
    projectDir: project,
    smp: '2',
    timeoutMs: (120 + config.budgetSec) * 1000,
    logFile,
    onLine: (line) => {
      const r = parser.feed(line);
      if (r?.kind === 'LOG' && !line.includes(' BENCH ')) progress(line.slice(line.indexOf(name) + name.length + 1));
      if (r?.check && r.check.verdict !== 'PASS') progress(`check ${r.check.id} ${r.check.verdict}: ${JSON.stringify(r.check.detail)}`);
    },
  }).finally(() => process.off('SIGINT', stop).off('SIGTERM', stop));
  const run = parser.scenarios.get(name);
  const result = vmResult(run, res.ms);
  if (!run?.end || run.end.status !== 'ok' || !result.configs.length) {
    const why = res.timedOut ? `timed out after ${Math.round(res.ms / 1000)} s` : (run?.end?.status ?? parser.fatal.join('; ')) || 'the guest stopped early';
    return `${title}\n\n(failed: ${why}; console ${logFile})`;
  }
  rmSync(share, { recursive: true, force: true });
  return vmReport(title, systemLine('/usr/sbin/nft'), config, result);
}

/** What the guest printed (its `BENCH` lines and checks), as the report reads it. */
export function vmResult(run: ScenarioRun | undefined, bootMs: number): VmResult {
  const result: VmResult = { configs: [], checks: run?.checks ?? [], bootMs };
  for (const l of run?.logs ?? []) {
    if (!l.startsWith('BENCH ')) continue;
    const o = JSON.parse(l.slice(6)) as { kind: string } & Record<string, unknown>;
    if (o.kind === 'env') result.env = o as unknown as VmResult['env'];
    else if (o.kind === 'module') result.moduleMs = Number(o.ms);
    else if (o.kind === 'control') result.control = o as unknown as VmResult['control'];
    else if (o.kind === 'linearProbe') result.linearProbe = o as unknown as VmResult['linearProbe'];
    else if (o.kind === 'config') result.configs.push(o as unknown as VmResult['configs'][number]);
  }
  return result;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) {
  console.log(await runVmPacketBench());
}
