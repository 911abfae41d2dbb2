// Guest half of the per-packet benchmark in the VM (bench/vmpacket.ts prepares its inputs in
// build/vmbench/ and reads its output). Run by vm-tests/guest/driver.mjs like a scenario, in
// unconfined_t, SELinux enforcing. Each round loads every configuration in turn (no ruleset,
// `secmarkc apply` at each size, `nft -f` of the linear layout at each size) and runs the
// loadgen client and server over loopback in the loadgen app's domain once per mode.
// The CIL module is installed once, by the first apply: every size has the same apps (so the
// same module) and is applied from the same path (the module names its source file); later
// applies pass --no-module, and the store's module stamp proves semodule did not run again.
// Results go to the console as `SMC-LOG <name> BENCH {json}` lines.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT } from '../../vm-tests/guest/lib.mjs';

const SHARE = join(PROJECT, 'build', 'vmbench');
const config = JSON.parse(readFileSync(join(SHARE, 'config.json'), 'utf8'));
const LOADGEN = join(SHARE, 'loadgen');
const POLICY = '/tmp/bench-policy.yaml';
const NFT = '/usr/sbin/nft';

export const meta = { budgetSec: config.budgetSec, title: 'per-packet benchmark, SELinux enforcing' };

const denials = (lines, domain) => lines.filter((l) => /avc:\s+denied/.test(l) && (!domain || l.includes(`:${domain}:`)));

export async function run(t) {
  const out = (kind, data) => t.log(`BENCH ${JSON.stringify({ kind, ...data })}`);
  const enforce = readFileSync('/sys/fs/selinux/enforce', 'utf8').trim();
  out('env', {
    kernel: t.run(['uname', '-r']).stdout.trim(),
    nft: t.run([NFT, '--version']).stdout.trim(),
    cpus: t.run(['nproc']).stdout.trim(),
    enforcing: enforce === '1',
    nftLabel: t.run(['ls', '-Z', NFT]).stdout.trim().split(/\s+/)[0],
  });
  if (!t.check('enforcing', enforce === '1', { expected: '1', got: enforce })) return;
  t.cleanups.push(() => t.secmarkc(['remove', '-t', config.table], { allowFail: true }));

  const timed = (fn) => {
    const t0 = Date.now();
    const r = fn();
    return { ...r, ms: Date.now() - t0 };
  };
  let moduleStamp;
  const loaders = {
    none: () => timed(() => t.secmarkc(['remove', '-t', config.table], { allowFail: true })),
    secmarkc: (size) => {
      copyFileSync(join(SHARE, `policy-${size}.yaml`), POLICY);
      const first = moduleStamp === undefined;
      const r = timed(() => t.secmarkc(['apply', POLICY, ...(first ? [] : ['--no-module'])]));
      const stamp = t.moduleStamp(config.table);
      if (first) {
        moduleStamp = stamp;
        t.check('module-installed', stamp !== null, { expected: `module ${config.table} in the store`, got: stamp === null ? 'absent' : 'present' });
        out('module', { ms: r.ms, size });
        // The kernel's policy knows every packet type the rulesets name (it validates a context
        // written to selinuxfs): later sizes rely on them without semodule.
        const valid = (ctx) => t.run(['sh', '-c', 'printf %s "$1" > /sys/fs/selinux/context', 'sh', ctx], { allowFail: true }).code === 0;
        const unknown = config.contexts.filter((ctx) => !valid(ctx));
        const bogus = `system_u:object_r:${config.table}_no_such_packet_t:s0`;
        t.check('types-in-place', unknown.length === 0 && !valid(bogus), {
          expected: `${config.contexts.join(' ')} valid, ${bogus} not`,
          got: unknown.length ? `unknown: ${unknown.join(' ')}` : valid(bogus) ? 'the bogus context passed too' : 'as expected',
        });
      } else if (stamp !== moduleStamp) {
        t.check(`module-kept-${size}`, false, { expected: 'the module installed by the first apply', got: 'semodule ran again (or it is gone)' });
      }
      return r;
    },
    linear: (size) => timed(() => t.run([NFT, '-f', join(SHARE, `linear-${size}.nft`)])),
  };

  const rates = {};
  const loads = {};
  const proof = {};
  const avc = {};
  for (let round = 0; round < config.runs; round++) {
    for (const c of config.configs) {
      const load = loaders[c.kind](c.size);
      (loads[c.label] ??= []).push(load.ms);
      for (const mode of config.modes) {
        const before = round === 0 ? await readHits(c) : undefined;
        const mark = t.kmsg.read();
        const rate = await measure(t, mode);
        const kernel = t.kernelSince(mark);
        const all = denials(kernel);
        const mine = denials(kernel, config.domain);
        const a = (avc[c.label] ??= { denied: 0, loadgen: 0, sample: '' });
        a.denied += all.length;
        a.loadgen += mine.length;
        a.sample ||= (mine[0] ?? all[0] ?? '').replace(/^.*avc:/, 'avc:').slice(0, 240);
        (rates[c.label] ??= {})[mode] = [...(rates[c.label]?.[mode] ?? []), rate];
        if (before) {
          const after = await readHits(c);
          (proof[c.label] ??= {})[mode] = { ops: Math.round(rate * config.seconds), ...diff(before, after) };
        }
      }
      t.log(`round ${round + 1}/${config.runs}: ${c.label} (load ${loads[c.label].at(-1)} ms)`);
    }
  }
  for (const c of config.configs) out('config', { label: c.label, layout: c.kind, size: c.size, rates: rates[c.label], loads: loads[c.label], proof: proof[c.label], avc: avc[c.label] });
  for (const c of config.configs) {
    t.check(`no-denials:${c.label}`, avc[c.label].loadgen === 0, { expected: `no denials for ${config.domain}`, got: `${avc[c.label].loadgen}${avc[c.label].sample ? `: ${avc[c.label].sample}` : ''}` });
  }
  await negativeControl(t, out, loaders);
  if (config.linearProbe) probeLinearLoad(t, out);
}

/**
 * What a linear size too slow to measure every round costs to load, once, with a time limit:
 * the reason it is not in the table.
 */
function probeLinearLoad(t, out) {
  const { size, limitSec } = config.linearProbe;
  const t0 = Date.now();
  const r = spawnSync(NFT, ['-f', join(SHARE, `linear-${size}.nft`)], { encoding: 'utf8', timeout: limitSec * 1000 });
  const ms = Date.now() - t0;
  const status = r.error?.code === 'ETIMEDOUT' ? 'timeout' : r.status === 0 ? 'ok' : `exit ${r.status}: ${(r.stderr ?? '').trim().slice(0, 200)}`;
  out('linearProbe', { size, ms, status, limitSec });
  t.log(`linear ${size} load probe: ${status} after ${ms} ms`);
}

/**
 * The labels are live: with the smallest secmarkc ruleset, a client in a domain the policy does
 * not grant the loadgen's packet type is refused, with an AVC denial of `send`.
 */
async function negativeControl(t, out, loaders) {
  const smallest = config.configs.find((c) => c.kind === 'secmarkc');
  if (!smallest) return;
  loaders.secmarkc(smallest.size);
  const server = await startServer('conn');
  try {
    const mark = t.kmsg.read();
    const r = spawnSync('runcon', ['-t', config.otherDomain, '--', LOADGEN, 'client', 'conn', '127.0.0.1', String(config.port), '1'], { encoding: 'utf8', timeout: 30_000 });
    const hit = denials(t.kernelSince(mark), config.otherDomain).find((l) => /\{ send \}/.test(l));
    const ok = r.status !== 0 && hit !== undefined;
    t.check('other-domain-refused', ok, { expected: `${config.otherDomain} refused with avc denied { send }`, got: `exit ${r.status}: ${(r.stderr ?? '').trim().slice(0, 120)}; ${hit ? hit.replace(/^.*avc:/, 'avc:').slice(0, 200) : 'no denial'}` });
    out('control', { domain: config.otherDomain, exit: r.status, stderr: (r.stderr ?? '').trim().slice(0, 200), avc: hit ? hit.replace(/^.*avc:/, 'avc:').slice(0, 300) : null });
  } finally {
    await stopServer(server);
  }
}

async function startServer(mode) {
  const server = spawn('runcon', ['-t', config.domain, '--', LOADGEN, 'server', mode, '127.0.0.1', String(config.port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = once(server, 'exit');
  let err = '';
  server.stderr.on('data', (d) => (err += d));
  const first = await Promise.race([once(server.stdout, 'data'), exited]);
  if (!String(first[0]).startsWith('ready')) throw new Error(`loadgen server ${mode} did not start: ${err}`);
  return { server, exited };
}

async function stopServer({ server, exited }) {
  // Wait until it is gone, so that the next server can bind the same port.
  if (server.exitCode === null && server.signalCode === null) {
    server.kill();
    await exited;
  }
}

/** Operations per second of one client run of config.seconds, both ends in the loadgen domain. */
async function measure(t, mode) {
  const s = await startServer(mode);
  try {
    const argv = ['runcon', '-t', config.domain, '--', LOADGEN, 'client', mode, '127.0.0.1', String(config.port), String(config.seconds)];
    // Async, so that the server (a child of this process) keeps being serviced meanwhile.
    const r = await t.runAsync(argv, { allowFail: true });
    if (r.code !== 0) throw new Error(`loadgen client ${mode} failed (exit ${r.code}): ${r.stderr.trim().slice(0, 300)}`);
    if (r.stderr.trim()) t.log(`loadgen ${mode}: ${r.stderr.trim().slice(0, 200)}`);
    const [ops, elapsed] = r.stdout.trim().split(' ').map(Number);
    return ops / elapsed;
  } finally {
    await stopServer(s);
  }
}

/**
 * Packets counted by the rules that label new connections (the map lookups' counters, or the
 * linear layout's counter objects on the loadgen's own entries) and by the restore rules. Read
 * over secmarkc's own netlink session, base chains and objects only: `nft list` would fetch
 * every map element, and a dump of the linear chains every rule.
 */
async function readHits(c) {
  const { NetfilterSession, KernelError } = await import(join(PROJECT, 'dist', 'apply', 'session.js'));
  const { encodeDumpObjects, encodeDumpRules } = await import(join(PROJECT, 'dist', 'netlink', 'requests.js'));
  const hits = { labelOut: 0, labelIn: 0, restore: 0 };
  if (c.kind === 'none') return hits;
  const session = NetfilterSession.open();
  try {
    for (const chain of ['input', 'output']) {
      const rules = await session.request(encodeDumpRules({ seq: session.nextSeq(), table: config.table, chain }), `listing chain ${chain}`);
      for (const m of rules) {
        if (m.kind !== 'rule') continue;
        const packets = m.rule.expressions.filter((e) => e.kind === 'counter').reduce((n, e) => n + Number(e.packets ?? 0n), 0);
        const comment = m.rule.comment ?? '';
        if (comment.includes('restore')) hits.restore += packets;
        else if (comment.startsWith('label')) hits[chain === 'input' ? 'labelIn' : 'labelOut'] += packets;
      }
    }
    if (c.kind === 'linear') {
      const objects = await session.request(encodeDumpObjects({ seq: session.nextSeq(), table: config.table }), 'listing objects');
      for (const m of objects) {
        if (m.kind !== 'obj' || m.obj.data.kind !== 'counter') continue;
        if (m.obj.name === 'loadgen_client_hits') hits.labelOut += Number(m.obj.data.packets);
        if (m.obj.name === 'loadgen_server_hits') hits.labelIn += Number(m.obj.data.packets);
      }
    }
    return hits;
  } catch (error) {
    if (error instanceof KernelError && error.code === 'ENOENT') return hits;
    throw error;
  } finally {
    session.close();
  }
}

const diff = (a, b) => Object.fromEntries(Object.keys(a).map((k) => [k, b[k] - a[k]]));
