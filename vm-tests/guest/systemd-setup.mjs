// Runs before systemd in a `init: 'systemd'` boot (called by the image's /sbin/secmarkc-init as
// unconfined_t, after the SELinux policy load, so new files get their labels): each scenario's
// `setup(s)` installs what it needs (units, policy, state), then the driver unit is installed.
// systemd then starts as PID 1. Setup results go to /run/smc-setup/<scenario>.json for the
// scenario to check once the system is up.
import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import process from 'node:process';
import { pathToFileURL } from 'node:url';
import { GUEST_DIR, NODE, PROJECT } from './lib.mjs';

const UNIT_DIR = '/etc/systemd/system';
const scenarios = process.argv.slice(2);
const say = (line) => process.stdout.write(`${line}\n`);
/** Units the setups added: the driver starts after them (and after network-pre.target, which
 * nothing else waits for in a guest without a network manager). */
const added = [];

/** What a scenario's setup gets. */
class Setup {
  constructor(name) {
    this.name = name;
    this.results = {};
  }

  run(argv, input, timeout = 120_000) {
    const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', input, timeout });
    return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? String(r.error ?? '') };
  }

  /** `timeout`: an apply that runs semodule and the audit's setools takes minutes under TCG. */
  secmarkc(args, timeout) {
    return this.run([NODE, join(PROJECT, 'bin', 'secmarkc.js'), ...args], undefined, timeout);
  }

  writeFile(path, text) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    return path;
  }

  /** A unit in /etc/systemd/system, pulled in by `wantedBy` (a symlink, as `systemctl enable` makes). */
  unit(name, text, wantedBy) {
    added.push(name);
    this.writeFile(join(UNIT_DIR, name), text);
    if (wantedBy) {
      mkdirSync(join(UNIT_DIR, `${wantedBy}.wants`), { recursive: true });
      symlinkSync(join(UNIT_DIR, name), join(UNIT_DIR, `${wantedBy}.wants`, name));
    }
  }

  record(key, value) {
    this.results[key] = value;
  }
}

for (const name of scenarios) {
  const mod = await import(pathToFileURL(join(GUEST_DIR, '..', 'scenarios', `${name}.mjs`)).href);
  if (typeof mod.setup !== 'function') continue;
  const s = new Setup(name);
  try {
    await mod.setup(s);
  } catch (e) {
    s.record('error', String(e?.stack ?? e));
    say(`SMC-LOG ${name} setup failed: ${String(e?.message ?? e).replace(/\s+/g, ' ')}`);
  }
  mkdirSync('/run/smc-setup', { recursive: true });
  writeFileSync(`/run/smc-setup/${name}.json`, JSON.stringify(s.results));
}

// The driver: an administrator's unconfined_t (init_t may enter it), console on ttyS0, after boot.
const after = ['multi-user.target', 'network-pre.target', ...added].join(' ');
new Setup('driver').unit(
  'smc-driver.service',
  `[Unit]
Description=secmarkc VM scenario driver
After=${after}

[Service]
Type=oneshot
SELinuxContext=system_u:system_r:unconfined_t:s0
Environment=SMC_POWEROFF=1 HOME=/root LANG=C.UTF-8
WorkingDirectory=/tmp
ExecStart=${NODE} ${join(GUEST_DIR, 'driver.mjs')} ${scenarios.join(' ')}
StandardInput=null
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS0
`,
  'multi-user.target',
);
say('SMC-LOG setup done');
