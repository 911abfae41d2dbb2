// `secmarkc status POLICY --json` reads the live table back: no drift from the policy, and the
// counters grow with traffic that the policy labels (A's connections to the proxy).
import { PEER4, PEER6, listeners, peerNetwork, policy } from '../guest/fixtures.mjs';

export const meta = { boot: 'connect', budgetSec: 180, needs: ['apply', 'status'], title: 'status shows counters rising for allowed traffic' };

/** Sums every numeric "packets" and "bytes" field anywhere in the status JSON. */
function counters(json) {
  const sum = { packets: 0, bytes: 0, found: 0 };
  const walk = (v) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) {
        if ((k === 'packets' || k === 'bytes') && typeof x === 'number') {
          sum[k] += x;
          sum.found++;
        } else walk(x);
      }
  };
  walk(json);
  return sum;
}

export async function run(t) {
  peerNetwork(t);
  await t.server(listeners([3128]), { ns: 'peer' });
  const { path: file } = await t.apply('status', policy());

  const read = (label) => {
    const r = t.secmarkc(['status', file, '--json'], { allowFail: true });
    let json;
    try {
      json = JSON.parse(r.stdout);
    } catch {
      json = undefined;
    }
    t.check(`status-${label}`, r.code === 0 && json !== undefined, { expected: 'exit 0 (no drift) and JSON', got: `exit ${r.code}: ${(r.stderr || r.stdout).trim().slice(0, 300)}` });
    return json === undefined ? { packets: 0, bytes: 0, found: 0 } : counters(json);
  };
  const before = read('before');
  const burst = [];
  for (let i = 0; i < 5; i++) burst.push({ id: `tcp4-${i}`, proto: 'tcp', host: PEER4, port: 3128, expect: 'ok' }, { id: `tcp6-${i}`, proto: 'tcp', host: PEER6, port: 3128, expect: 'ok' });
  await t.expect('traffic', burst, { domain: 'smc_a_t' });
  const after = read('after');
  t.check('counters-found', after.found > 0, { expected: 'packets/bytes fields in status --json', got: `${after.found} found` });
  t.check('packets-rise', after.packets >= before.packets + 10, { expected: `packets >= ${before.packets} + 10 (10 connections)`, got: `${before.packets} -> ${after.packets}` });
  t.check('bytes-rise', after.bytes > before.bytes, { expected: 'bytes grow', got: `${before.bytes} -> ${after.bytes}` });
}
