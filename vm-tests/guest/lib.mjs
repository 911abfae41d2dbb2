// What a scenario gets: checks that print SMC-RESULT lines, shell helpers, network namespaces,
// probes and servers run in test domains, secmarkc itself, and the kernel's AVC lines.
// Runs inside the guest (node from the host, unconfined_t), never on the host.
import { spawn, spawnSync } from 'node:child_process';
import process from 'node:process';
import { setTimeout, clearTimeout } from 'node:timers';
import { statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const GUEST_DIR = dirname(fileURLToPath(import.meta.url));
export const PROJECT = join(GUEST_DIR, '..', '..');
export const NODE = process.execPath;
const POLICY_FILE = 'policy.yaml';
export const POLICY_PATH = join('/tmp', POLICY_FILE);
const one = (s) => String(s).replace(/\s+/g, ' ').trim();

/** Kernel log since boot, read destructively (dmesg -c) and kept here. */
export class Kmsg {
  lines = [];
  read() {
    const r = spawnSync('dmesg', ['-c'], { encoding: 'utf8' });
    for (const l of (r.stdout ?? '').split('\n')) if (l) this.lines.push(l);
    return this.lines.length;
  }
}

export class Context {
  constructor(name, kmsg) {
    this.name = name;
    this.kmsg = kmsg;
    this.counts = { pass: 0, fail: 0, skip: 0 };
    this.cleanups = [];
    this.children = new Set();
    this.kmark = kmsg.read();
  }

  emit(kind, ...rest) {
    process.stdout.write(`SMC-${kind} ${this.name} ${rest.map(one).join(' ')}\n`);
  }

  log(msg) {
    this.emit('LOG', msg);
  }

  /** One test result. `id` is a short slug; detail says what was expected and what was seen. */
  check(id, ok, detail = {}) {
    this.counts[ok ? 'pass' : 'fail']++;
    this.emit('RESULT', id.replace(/\s+/g, '-'), ok ? 'PASS' : 'FAIL', JSON.stringify(detail));
    return ok;
  }

  skip(id, reason) {
    this.counts.skip++;
    this.emit('RESULT', id.replace(/\s+/g, '-'), 'SKIP', JSON.stringify({ reason }));
  }

  /** Times a phase of the scenario (printed as SMC-PHASE, shown by the host runner). */
  async phase(label, fn) {
    const t0 = Date.now();
    try {
      return await fn();
    } finally {
      this.emit('PHASE', label.replace(/\s+/g, '-'), String(Date.now() - t0));
    }
  }

  /** Runs a command without a shell; throws with its output unless it exits 0 or allowFail. */
  run(argv, { allowFail = false, input, env } = {}) {
    const [cmd, ...args] = argv;
    // semodule and a setools policy load take minutes each under TCG with guests side by side.
    const r = spawnSync(cmd, args, { encoding: 'utf8', input, env: env ? { ...process.env, ...env } : undefined, timeout: 900_000 });
    const res = { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error ? String(r.error) : '') };
    if (!allowFail && res.code !== 0) throw new Error(`${argv.join(' ')} exited ${res.code}: ${one(res.stderr || res.stdout).slice(0, 600)}`);
    return res;
  }

  /** Like run() but without blocking the driver, for commands that overlap a probe. */
  runAsync(argv, { allowFail = false } = {}) {
    const [cmd, ...args] = argv;
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    return new Promise((resolve, reject) =>
      child.on('close', (code) => {
        const res = { code: code ?? -1, stdout, stderr };
        if (!allowFail && res.code !== 0) reject(new Error(`${argv.join(' ')} exited ${res.code}: ${one(stderr || stdout).slice(0, 600)}`));
        else resolve(res);
      }),
    );
  }

  sh(script, opts) {
    return this.run(['sh', '-ec', script], opts);
  }

  /** Runs argv in DOMAIN (runcon) inside network namespace NS (nsenter), or the init's own. */
  wrap(argv, { domain, ns } = {}) {
    let out = argv;
    if (domain) out = ['runcon', '-t', domain, '--', ...out];
    if (ns) out = ['nsenter', `--net=/run/netns/${ns}`, '--', ...out];
    return out;
  }

  // --- secmarkc

  secmarkc(args, opts) {
    return this.run([NODE, join(PROJECT, 'bin', 'secmarkc.js'), ...args], opts);
  }

  secmarkcAsync(args, opts) {
    return this.runAsync([NODE, join(PROJECT, 'bin', 'secmarkc.js'), ...args], opts);
  }

  /** Modules installed with `semodule -i` (priority 400), read from the store: semodule's own
   * output does not reach us (semanage_t may not write to unconfined_t's pipes). */
  installedModules() {
    return this.run(['ls', '/var/lib/selinux/default/active/modules/400']).stdout.split('\n').filter(Boolean).sort();
  }

  /** mtime of an installed module's CIL in the store (changes when semodule reinstalls it), or null. */
  moduleStamp(name) {
    try {
      return statSync(`/var/lib/selinux/default/active/modules/400/${name}/cil`).mtimeMs;
    } catch {
      return null;
    }
  }

  writeFile(name, text) {
    const path = join('/tmp', name);
    writeFileSync(path, text);
    return path;
  }

  /**
   * `secmarkc apply` of the YAML text, always from the same path (POLICY_PATH): the generated
   * CIL names its source file, so a new path would mean a new module and a semodule run.
   * Registers a `secmarkc remove` as cleanup. `opts.audit`: keep apply's exclusivity audit.
   */
  async apply(name, yaml, opts = {}) {
    this.writeFile(`${name}.yaml`, yaml);
    const path = this.writeFile(POLICY_FILE, yaml);
    // The exclusivity audit loads the SELinux policy with setools: a minute or more under TCG.
    // Scenarios about something else skip it; 01-seed and 16-exclusive keep it (opts.audit).
    const argv = ['apply', path, ...(opts.audit ? [] : ['--no-audit']), ...(opts.args ?? [])];
    const res = await this.phase(`apply-${name}`, () => (opts.async ? this.secmarkcAsync : this.secmarkc).call(this, argv, { allowFail: true }));
    res.path = path;
    if (!this.removeRegistered) {
      this.removeRegistered = true;
      this.cleanups.push(() => this.secmarkc(['remove'], { allowFail: true }));
    }
    if (!opts.allowFail && res.code !== 0) throw new Error(`secmarkc apply ${name} exited ${res.code}: ${one(res.stderr + res.stdout).slice(0, 800)}`);
    return res;
  }

  // --- network

  /**
   * A peer namespace joined to the init namespace by a veth pair. addrs: [[hostSide, peerSide], ...]
   * as CIDRs; IPv6 addresses skip DAD so they are usable at once.
   */
  netns(name, addrs) {
    const host = `v-${name}`.slice(0, 15);
    // A namespace is destroyed asynchronously: the previous scenario's veth may still exist.
    const lines = [`ip link del ${host} 2>/dev/null || true`, `ip netns add ${name}`, `ip link add ${host} type veth peer name eth0 netns ${name}`, `ip -n ${name} link set lo up`];
    for (const [h, p] of addrs) {
      const six = h.includes(':') ? ' nodad' : '';
      lines.push(`ip addr add ${h} dev ${host}${six}`, `ip -n ${name} addr add ${p} dev eth0${six}`);
    }
    lines.push(`ip link set ${host} up`, `ip -n ${name} link set eth0 up`);
    this.sh(lines.join('\n'));
    // Deleting the veth removes both ends at once; deleting the namespace alone leaves its
    // veth to the kernel's asynchronous cleanup, and the next scenario could find it still there.
    this.cleanups.push(() => {
      this.run(['ip', 'link', 'del', host], { allowFail: true });
      this.run(['ip', 'netns', 'del', name], { allowFail: true });
    });
    return name;
  }

  /** Echo server; resolves once it listens. Killed at the end of the scenario. */
  server(listeners, { domain, ns } = {}) {
    const argv = this.wrap([NODE, join(GUEST_DIR, 'serve.mjs'), JSON.stringify(listeners)], { domain, ns });
    const [cmd, ...args] = argv;
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.add(child);
    const events = [];
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server ${JSON.stringify(listeners)} not ready in 60 s: ${one(err)}`)), 60_000);
      let buf = '';
      child.stdout.on('data', (d) => {
        buf += d;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (line === 'READY') {
            clearTimeout(timer);
            resolve({ events, child, domain });
          } else if (line.startsWith('{')) events.push(JSON.parse(line));
        }
      });
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`server exited ${code}: ${one(err).slice(0, 600)}`));
      });
    });
  }

  /** Runs probe.mjs in DOMAIN/NS; returns {id: {outcome, code, ms}}. */
  async probe(probes, { domain, ns } = {}) {
    const argv = this.wrap([NODE, join(GUEST_DIR, 'probe.mjs'), JSON.stringify(probes)], { domain, ns });
    const [cmd, ...args] = argv;
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const code = await new Promise((r) => child.on('close', r));
    const results = {};
    for (const line of out.split('\n')) if (line.startsWith('{')) { const o = JSON.parse(line); results[o.id] = o; }
    for (const p of probes) results[p.id] ??= { id: p.id, outcome: 'error', code: `probe exited ${code}: ${one(err).slice(0, 300)}` };
    return results;
  }

  /**
   * Probes and checks each outcome. Each item: {id, expect: 'ok'|'refused'|'timeout', ...probe}.
   * `avc` on an item: a regexp a kernel line must match (a denial it must have caused).
   */
  async expect(title, items, where = {}) {
    const mark = this.kmsg.read();
    const probes = items.map((item) => {
      const p = { ...item };
      delete p.expect;
      delete p.avc;
      return p;
    });
    const results = await this.probe(probes, where);
    this.kmsg.read();
    const kernel = this.kmsg.lines.slice(mark);
    for (const item of items) {
      const r = results[item.id];
      let ok = r.outcome === item.expect;
      const detail = { expected: item.expect, got: `${r.outcome}${r.code ? ` (${r.code})` : ''} in ${r.ms ?? '?'} ms`, who: where.domain ?? 'init', ns: where.ns ?? 'init', to: `${item.proto}/${item.host}:${item.port}` };
      if (item.avc) {
        const hit = kernel.find((l) => item.avc.test(l));
        detail.avc = hit ? hit.replace(/^.*avc:/, 'avc:').slice(0, 300) : `none matching ${item.avc}`;
        ok &&= hit !== undefined;
      }
      this.check(`${title}:${item.id}`, ok, detail);
    }
    return results;
  }

  // --- real refpolicy domains (image/test-domains.cil lets the driver enter them, nothing more)

  /**
   * Runs `bash -c SCRIPT ARGS...` in the full SELinux context CONTEXT (e.g.
   * user_u:user_r:user_t:s0): bash, not node, because these domains may not map executable
   * memory. Resolves {code, stdout, stderr, killed} and kills it after timeoutMs.
   */
  inContext(context, script, args = [], { ns, timeoutMs = 8000 } = {}) {
    let argv = ['runcon', context, '/bin/bash', '-c', script, 'smc', ...args.map(String)];
    if (ns) argv = ['nsenter', `--net=/run/netns/${ns}`, '--', ...argv];
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const done = new Promise((resolve) =>
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? -1, stdout, stderr, killed });
      }),
    );
    return { child, done };
  }

  /**
   * A TCP client in CONTEXT: connect, send a line, wait for its echo. Outcome as probe.mjs
   * reports it: ok, refused (connect failed at once), timeout, or error.
   */
  async contextClient(context, host, port, opts = {}) {
    const t0 = Date.now();
    const script = 'exec 3<>"/dev/tcp/$1/$2" || exit 7; echo smc-ping >&3; read -r -t 4 line <&3; [ "$line" = smc-ping ] || exit 8';
    const r = await this.inContext(context, script, [host, port], opts).done;
    const outcome = r.killed ? 'timeout' : r.code === 0 ? 'ok' : r.code === 7 && /refused|not permitted|denied/i.test(r.stderr) ? 'refused' : r.code === 8 ? 'timeout' : 'error';
    return { outcome, code: `exit ${r.code}${r.stderr ? `: ${one(r.stderr).slice(0, 160)}` : ''}`, ms: Date.now() - t0 };
  }

  /**
   * An echo server (python3, dual-stack) in CONTEXT on PROTO/PORT; resolves once it listens, with
   * a stop() that kills it. Rejects with its output if it does not start.
   */
  async contextServer(context, proto, port) {
    const code = [
      'import socket, sys',
      'proto, port = sys.argv[1], int(sys.argv[2])',
      's = socket.socket(socket.AF_INET6, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)',
      's.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)',
      's.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)',
      's.bind(("::", port))',
      'if proto == "tcp": s.listen(16)',
      'print("READY", flush=True)',
      'while True:',
      '    if proto == "udp":',
      '        data, peer = s.recvfrom(2048); s.sendto(data, peer); continue',
      '    c, _ = s.accept(); data = c.recv(2048); c.sendall(data); c.close()',
    ].join('\n');
    const { child, done } = this.inContext(context, 'exec python3 -u -c "$1" "$2" "$3"', [code, proto, port], { timeoutMs: 600_000 });
    let out = '';
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server in ${context} not ready in 30 s`)), 30_000);
      child.stdout.on('data', (d) => {
        out += d;
        if (out.includes('READY')) {
          clearTimeout(timer);
          resolve();
        }
      });
      done.then((r) => {
        clearTimeout(timer);
        reject(new Error(`server in ${context} exited ${r.code}: ${one(r.stderr).slice(0, 400)}`));
      });
    });
    return { stop: () => child.kill('SIGKILL') };
  }

  /** Kernel lines (AVC or other) printed since `mark` (a value returned by kmsg.read()). */
  kernelSince(mark) {
    this.kmsg.read();
    return this.kmsg.lines.slice(mark);
  }

  async cleanup() {
    for (const child of this.children) if (child.exitCode === null) child.kill('SIGKILL');
    for (const fn of this.cleanups.reverse()) {
      try {
        await fn();
      } catch (e) {
        this.log(`cleanup: ${e.message}`);
      }
    }
  }
}

/**
 * One check from a client's outcome ({outcome, code, ms, domain?}) and, when asked, the AVC
 * line since `mark` that must explain it.
 */
export function verdict(t, id, got, expected, mark, avc) {
  const kernel = t.kernelSince(mark);
  const detail = { expected, got: `${got.outcome} (${got.code}) in ${got.ms} ms${got.domain === undefined ? '' : `, domain ${got.domain}`}` };
  let ok = got.outcome === expected;
  if (avc) {
    const hit = kernel.find((l) => avc.test(l));
    detail.avc = hit ? hit.replace(/^.*avc:/, 'avc:').slice(0, 300) : `none matching ${avc}`;
    ok &&= hit !== undefined;
  }
  return t.check(id, ok, detail);
}

/** `avc:  denied  { PERM } ... scontext=...:DOMAIN:... tcontext=...:TYPE:... tclass=packet` */
export const deniedPacket = (perm, domain, type = '\\w+') =>
  new RegExp(`avc:\\s+denied\\s+\\{ ${perm} \\}.*scontext=\\S*:${domain}:\\S* tcontext=\\S*:${type}:\\S* tclass=packet`);

/** `avc:  granted  { PERM } ...` as printed for auditallow rules. */
export const grantedPacket = (perm, domain, type = '\\w+') =>
  new RegExp(`avc:\\s+granted\\s+\\{ ${perm} \\}.*scontext=\\S*:${domain}:\\S* tcontext=\\S*:${type}:\\S* tclass=packet`);
