// bench/packet/linear.ts: the gennetfilter-style comparison layout must label what secmarkc's maps
// label. Loaded with counter objects in a fresh namespace, one UDP datagram over loopback must be
// counted by the connect entry on output and the serve entry on input, and by nothing else.
import test from 'ava';
import { linearNftText } from '../bench/packet/linear.js';
import { compilePolicy } from '../src/compile/compile.js';
import { withCounterObjects } from '../src/compile/substitute.js';
import { inFreshNamespace, nsTest, nsTitle } from './helpers/namespace.js';

const POLICY = `version: 1
table: linear_test
unlabeled: allow
neighbour_discovery: []
apps:
  loadgen:
    domain: loadgen_t
    connect:
      - to: [127.0.0.1]
        ports: [udp/5001, tcp/5001]
    serve:
      - ports: [udp/5001]
  filler:
    domain: filler_t
    connect:
      - to: [192.0.2.1, 192.0.2.2]
        ports: [udp/5001, udp/5002]
`;

function linearText(): string {
  const c = compilePolicy(POLICY, 'linear.yaml');
  if (!c.ok) throw new Error('test policy does not compile');
  return linearNftText(withCounterObjects(c.compiled.ruleset), 'loadgen_client');
}

test('the loadgen entries come last in the output chain; serve entries have a chain of their own', (t) => {
  const text = linearText();
  const output = /chain output_new \{\n([^}]*)\}/.exec(text)?.[1]?.trim().split('\n') ?? [];
  t.is(output.length, 6);
  t.deepEqual(output.slice(-2).map((l) => l.includes('"loadgen_client"')), [true, true]);
  const input = /chain input_new \{\n([^}]*)\}/.exec(text)?.[1]?.trim().split('\n') ?? [];
  t.true(input.length > 0 && input.every((l) => l.includes('"loadgen_server"')), input.join('\n'));
});

nsTest(nsTitle('a loopback datagram is counted by its connect entry on output and its serve entry on input'), (t) => {
  const script = [
    'ip link set lo up',
    'f=$(mktemp) && cat > "$f" && nft -f "$f" && rm -f "$f"',
    "bash -c 'printf x > /dev/udp/127.0.0.1/5001'",
    'nft -j list counters table inet linear_test',
  ].join(' && ');
  const run = inFreshNamespace(script, linearText());
  t.is(run.status, 0, run.stderr);
  const listed = (JSON.parse(run.stdout) as { nftables: { counter?: { name: string; packets: number } }[] }).nftables;
  const packets = Object.fromEntries(listed.flatMap((o) => (o.counter ? [[o.counter.name, o.counter.packets]] : [])));
  t.deepEqual(packets, { loadgen_client: 1, loadgen_server: 1, filler_client: 0 });
});
