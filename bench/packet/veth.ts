// A peer namespace joined to ours by a veth pair, so the load generator's server can be a real
// peer (192.0.2.2) and not loopback: the packets then cross a device as from another host. The
// namespace is held by a `sleep` under `unshare -n`; closing the peer kills it, which removes the
// namespace and the pair with it. Device names live in our private namespace only.

import { spawn, spawnSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';

export const LOCAL = '192.0.2.1';
export const PEER = '192.0.2.2';

export interface Peer {
  /** Prefix that runs a command inside the peer namespace. */
  readonly enter: readonly string[];
  close(): void;
}

function run(args: readonly string[]): void {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.error?.message ?? r.stderr}`);
}

export async function createPeer(): Promise<Peer> {
  const holder = spawn('unshare', ['-n', 'sleep', 'infinity'], { stdio: 'ignore' });
  const pid = String(holder.pid);
  const close = (): void => void holder.kill();
  try {
    // unshare(2) happens just before exec: wait until the holder's namespace is not ours.
    const ours = readlinkSync('/proc/self/ns/net');
    for (let i = 0; readlinkSync(`/proc/${pid}/ns/net`) === ours; i++) {
      if (i > 200) throw new Error('peer namespace did not appear');
      await new Promise((r) => setTimeout(r, 10));
    }
    const enter = ['nsenter', '-t', pid, '-n'];
    run(['ip', 'link', 'add', 'smcbench0', 'type', 'veth', 'peer', 'name', 'smcbench1', 'netns', pid]);
    run(['ip', 'addr', 'add', `${LOCAL}/24`, 'dev', 'smcbench0']);
    run(['ip', 'link', 'set', 'smcbench0', 'up']);
    run([...enter, 'ip', 'addr', 'add', `${PEER}/24`, 'dev', 'smcbench1']);
    run([...enter, 'ip', 'link', 'set', 'smcbench1', 'up']);
    run([...enter, 'ip', 'link', 'set', 'lo', 'up']);
    return { enter, close };
  } catch (error) {
    close();
    throw error;
  }
}
