// Our batches against the real kernel, in a private network namespace held open by a child
// `unshare -n` (its /proc/PID/ns/net is the socket's netnsFd): what we load lists, in
// `nft -j list ruleset`, exactly like `nft -f` of the equivalent text in a second namespace;
// a bad element aborts everything and is located; 100,000 elements apply; generation ids work.
// Counter objects stand in for secmark objects: this kernel has no LSM for them.

import test, { type ExecutionContext } from 'ava';
import type { Ruleset } from '../../src/compile/ir.js';
import { compilePolicy } from '../../src/compile/compile.js';
import { withCounterObjects } from '../../src/compile/substitute.js';
import { emitNftText } from '../../src/emit/nft-text.js';
import { keyText } from '../../src/emit/element-text.js';
import { formatDiagnosticLines } from '../../src/policy/diagnostics.js';
import { batchOutcome, DumpCollector, type BatchOutcome, type DumpResult } from '../../src/netlink/decode/replies.js';
import { encodeRuleset } from '../../src/netlink/encode-ruleset.js';
import { ApplyError, replaceTable } from '../../src/apply/apply.js';
import { encodeDumpSetElements, encodeGetGen, encodeGetTable } from '../../src/netlink/requests.js';
import { type NetfilterSocket, openNetfilterSocket } from '../../src/native.js';
import { cases, compiled, readPolicy, readPortTable } from '../helpers/fixtures.js';
import { holdNamespace, inFreshNamespace, namespaceSkipReason, normaliseNftJson } from '../helpers/namespace.js';
import { DUMP_IR } from './golden-cases.js';
import { bigMap, chain, counter, element, map, rule, ruleset, span, st } from './helpers/ir.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WIRE_FIXTURES } from './helpers/golden.js';

/** Namespaces and nft to compare with (helpers/namespace.ts), and the addon. */
function probe(): string | undefined {
  if (namespaceSkipReason) return namespaceSkipReason;
  try {
    openNetfilterSocket().close();
  } catch (error) {
    return `native addon unavailable (${(error as Error).message.split('\n')[0]})`;
  }
  return undefined;
}
const skip = probe();
const kernelTest = skip ? test.serial.skip : test.serial;
const title = (text: string): string => (skip ? `${text} [skipped: ${skip}]` : text);

// ------------------------------------------------------------------ the namespace

const ns = skip ? undefined : holdNamespace();
let socket: NetfilterSocket | undefined;

if (ns) {
  test.after.always(() => socket?.close());
  /** Each test starts from an empty ruleset (this is our private namespace, not the host's). */
  test.beforeEach(() => {
    const r = ns.nft('flush', 'ruleset');
    if (r.status !== 0) throw new Error(r.stderr);
  });
}

/** One socket in the namespace for the file's tests, opened by the first (the namespace is held by then). */
function sock(): NetfilterSocket {
  return (socket ??= openNetfilterSocket({ netnsFd: ns!.fd }));
}

let seq = 1000;

/** Send one batch; the kernel answers inside sendmsg, so everything is queued when send returns. */
function apply(rs: Ruleset, mode: 'replace' | 'delete' = 'replace', genId?: number): BatchOutcome {
  const batch = encodeRuleset(rs, { mode, seqStart: seq, ...(genId !== undefined ? { genId } : {}) });
  seq += batch.messages.length;
  sock().send(batch.bytes);
  return batchOutcome(sock().drain(), batch.messages);
}

async function request(bytes: Uint8Array): Promise<DumpResult> {
  const c = DumpCollector.for(bytes);
  sock().send(bytes);
  for (const d of sock().drain()) c.add(d);
  while (!c.done) {
    const d = await sock().receive(10_000);
    if (!d) throw new Error('no answer within 10 s');
    c.add(d);
  }
  return c.result;
}

/** `nft -j list ruleset` minus what only the kernel knows (helpers/namespace.ts). */
function normalise(listing: string): unknown[] {
  return normaliseNftJson((JSON.parse(listing) as { nftables: unknown[] }).nftables);
}

function listOurs(): unknown[] {
  const r = ns!.nft('-j', 'list', 'ruleset');
  if (r.status !== 0) throw new Error(r.stderr);
  return normalise(r.stdout);
}

function listNfts(text: string): unknown[] {
  const r = inFreshNamespace('f=$(mktemp) && cat > "$f" && nft -f "$f" && nft -j list ruleset; s=$?; rm -f "$f"; exit $s', text);
  if (r.status !== 0) throw new Error(r.stderr);
  return normalise(r.stdout);
}

function assertApplied(t: { deepEqual: (a: unknown, b: unknown, m?: string) => void; true: (v: boolean, m?: string) => void }, outcome: BatchOutcome): void {
  t.deepEqual(
    outcome.errors.map((e) => e.text),
    [],
  );
  t.true(outcome.complete, 'the ACK of the last message arrived');
}

// ------------------------------------------------------------------ tests

kernelTest(title('kernel: our batch for dump.nft\'s IR lists exactly like nft -f dump.nft'), (t) => {
  assertApplied(t, apply(DUMP_IR));
  t.deepEqual(listOurs(), listNfts(readFileSync(join(WIRE_FIXTURES, 'dump.nft'), 'utf8')));
});

for (const { name, dir } of skip ? [] : cases('valid')) {
  kernelTest(title(`kernel: valid/${name} (counter variant): our batch lists exactly like nft -f of the emitted text`), (t) => {
    const compiled = compilePolicy(readPolicy(dir), 'policy.yaml', readPortTable(dir));
    if (!compiled.ok) return t.fail('fixture does not compile');
    const rs = withCounterObjects(compiled.compiled.ruleset);
    assertApplied(t, apply(rs));
    t.deepEqual(listOurs(), listNfts(emitNftText(rs)));
  });
}

kernelTest(title('kernel: replace twice is idempotent; delete removes the table; deleting a missing table is no error'), (t) => {
  assertApplied(t, apply(DUMP_IR));
  const once1 = listOurs();
  assertApplied(t, apply(DUMP_IR));
  t.deepEqual(listOurs(), once1);
  assertApplied(t, apply(ruleset(), 'delete'));
  t.deepEqual(listOurs(), []);
  assertApplied(t, apply(ruleset(), 'delete'));
  t.deepEqual(listOurs(), []);
});

kernelTest(title('kernel: one bad element aborts the batch, the old table stays, and the error points at that element'), (t) => {
  assertApplied(t, apply(DUMP_IR));
  const before = listOurs();
  const bad = ruleset({
    objects: [counter('browser_client', 4)],
    maps: [
      map('connect4', 'ipv4', 'counter', [
        element('192.0.2.10 . tcp . 3128', 'browser_client', 12),
        element('192.0.2.20 . tcp . 80', 'no_such_object', 13),
        element('192.0.2.30 . udp . 53', 'browser_client', 14),
      ], 11),
    ],
    chains: [chain('output', 'output', 0, [rule([st.ctState('new'), st.objrefMap('counter', 'connect4', 'daddr', 'ipv4')], '', 20)])],
  });
  const outcome = apply(bad);
  t.true(outcome.complete);
  t.is(outcome.errors.length, 1, outcome.errors.map((e) => e.text).join('\n'));
  const [error] = outcome.errors;
  t.is(error?.error.code, 'ENOENT');
  t.deepEqual(error?.span, span(13));
  t.is(error?.text, 'kernel rejected map "connect4" element 192.0.2.20 . tcp . 80 : "no_such_object": No such file or directory (ENOENT)');
  t.deepEqual(listOurs(), before, 'the table from before the failed batch is intact');
});

kernelTest(title('kernel: 100,000 elements apply in one batch and dump back'), async (t) => {
  const rs = ruleset({
    objects: [counter('browser_client'), counter('other')],
    maps: [bigMap('connect4', 'ipv4', 100_000, ['browser_client', 'other'])],
    chains: [chain('output', 'output', 0, [rule([st.ctState('new'), st.objrefMap('counter', 'connect4', 'daddr', 'ipv4'), st.counter()])])],
  });
  const t0 = performance.now();
  assertApplied(t, apply(rs));
  // Mostly the kernel's: inserting 100,000 concatenated intervals (pipapo) takes nft(8) as long.
  t.log(`encoded, sent and committed in ${(performance.now() - t0).toFixed(0)} ms`);
  const s = seq++;
  const dumped = await request(encodeDumpSetElements({ seq: s, table: 'secmarkc', set: 'connect4' }));
  t.true(dumped.done);
  t.is(dumped.error, undefined);
  let count = 0;
  for (const m of dumped.items) if (m.kind === 'setelem') count += m.elements.elements.length;
  t.is(count, 100_000);
});

kernelTest(title('kernel: NFNL_BATCH_GENID — a stale generation is refused (ERESTART), the current one accepted'), async (t) => {
  // A fresh namespace is at generation 0, where `current - 1` is no generation at all: move on first.
  assertApplied(t, apply(DUMP_IR));
  const s = seq++;
  const gen = await request(encodeGetGen(s));
  const reply = gen.items.find((m) => m.kind === 'gen');
  if (reply?.kind !== 'gen') return t.fail('no NEWGEN');
  const current = reply.gen.id;
  const stale = apply(DUMP_IR, 'replace', current - 1);
  t.deepEqual(stale.errors.map((e) => e.error.code), ['ERESTART']);
  assertApplied(t, apply(DUMP_IR, 'replace', current));
  const table = await request(encodeGetTable({ seq: seq++, table: 'secmarkc' }));
  t.true(table.items.some((m) => m.kind === 'table' && m.table.name === 'secmarkc'));
});

// With `meanwhile`, a batch is sent inline (then `meanwhile` runs) or from a worker thread (while
// it runs), by its size (INLINE_SEND_MAX_BYTES); both paths are taken here for the same batch.
const SEND_PATHS = [
  { path: 'inline send', inlineSendMaxBytes: Infinity },
  { path: 'sendAsync path', inlineSendMaxBytes: 0 },
] as const;

for (const { path, inlineSendMaxBytes } of SEND_PATHS) {
  kernelTest(title(`kernel: replaceTable with \`meanwhile\` (the ${path}) runs it once and loads the same table as without`), async (t) => {
    let calls = 0;
    const result = await replaceTable(DUMP_IR, { netnsFd: ns!.fd, meanwhile: () => void calls++, inlineSendMaxBytes });
    t.is(calls, 1);
    t.is(result.attempts, 1);
    t.deepEqual(listOurs(), listNfts(readFileSync(join(WIRE_FIXTURES, 'dump.nft'), 'utf8')));
  });

  kernelTest(title(`kernel: a refused batch sent by the ${path} (\`meanwhile\`) is reported like one sent without; \`meanwhile\` ran once`), async (t) => {
    assertApplied(t, apply(DUMP_IR));
    const before = listOurs();
    // A secmark object this kernel refuses (ENOENT: no LSM), as an apply without --no-lsm meets it.
    const refused: Ruleset = { ...DUMP_IR, objects: [...DUMP_IR.objects, { kind: 'secmark', name: 'refused', context: 'system_u:object_r:no_such_t:s0', span: span(1) }] };
    let calls = 0;
    const error = await t.throwsAsync(replaceTable(refused, { netnsFd: ns!.fd, meanwhile: () => void calls++, inlineSendMaxBytes }), { instanceOf: ApplyError });
    t.is(calls, 1);
    t.regex(error?.message ?? '', /the previous ruleset is unchanged/);
    t.deepEqual(listOurs(), before);
  });

  kernelTest(title(`kernel: a \`meanwhile\` that throws (the ${path}) is reported after the send, as an internal error that says the batch may be applied`), async (t) => {
    const error = await t.throwsAsync(
      replaceTable(DUMP_IR, {
        netnsFd: ns!.fd,
        inlineSendMaxBytes,
        meanwhile: () => {
          throw new Error('boom');
        },
      }),
    );
    t.regex(error?.message ?? '', /^internal error while the kernel processed the batch \(it may have been applied\): boom$/);
    t.deepEqual(listOurs(), listNfts(readFileSync(join(WIRE_FIXTURES, 'dump.nft'), 'utf8')), 'the send itself completed');
  });
}

// ------------------------------------------------------------------ refusals at their policy line

/** Policy text whose lines the refusal tests below point at. */
const SPANS_POLICY = [
  'version: 1',
  'unlabeled: allow',
  'neighbour_discovery: [kernel_t]',
  'groups:',
  '  proxy: [192.0.2.10, "2001:db8::10"]',
  'apps:',
  '  browser:',
  '    domain: mozilla_t',
  '    connect:',
  '      - to: [proxy]',
  '        ports: [tcp/3128, udp/53]',
  '',
].join('\n');

function compiledCounters(): Ruleset {
  return withCounterObjects(compiled(SPANS_POLICY, 'policy.yaml').ruleset);
}

/** The diagnostics of a refused replaceTable, as the CLI prints them. */
async function refusalLines(t: ExecutionContext, rs: Ruleset): Promise<string[]> {
  const error = await t.throwsAsync(replaceTable(rs, { netnsFd: ns!.fd }), { instanceOf: ApplyError });
  return (error?.diagnostics ?? []).flatMap(formatDiagnosticLines);
}

kernelTest(title('kernel: a refused element is reported at its port entry, with its peer (the group member) as a note'), async (t) => {
  const good = compiledCounters();
  const exact = good.maps.find((m) => m.name === 'connect4_exact');
  if (!exact) return t.fail('no connect4_exact map');
  // One element names an object that does not exist: the kernel refuses that element alone (ENOENT).
  const bad: Ruleset = {
    ...good,
    maps: good.maps.map((m) => (m === exact ? { ...m, elements: m.elements.map((e) => (keyText(e.parts) === '192.0.2.10 . tcp . 3128' ? { ...e, object: 'no_such_object' } : e)) } : m)),
  };
  t.deepEqual(await refusalLines(t, bad), [
    'policy.yaml:11:17: error SMC101: the kernel refused map "connect4_exact" element 192.0.2.10 . tcp . 3128 : "no_such_object": No such file or directory (ENOENT)',
    'policy.yaml:5:11: note: its address 192.0.2.10 is written here',
  ]);
});

kernelTest(title('kernel: a refused rule is reported at the key that enables it (neighbour_discovery)'), async (t) => {
  const good = compiledCounters();
  const renamed = (name: string): Ruleset => ({
    ...good,
    chains: good.chains.map((c) =>
      c.name !== 'output' ? c : { ...c, rules: c.rules.map((r) => ({ ...r, statements: r.statements.map((s) => (s.kind === 'objref' && s.name === 'ndp' ? { ...s, name } : s)) })) },
    ),
  });
  t.deepEqual(await refusalLines(t, renamed('no_such_ndp')), [
    'policy.yaml:3:23: error SMC103: the kernel refused counter name "no_such_ndp" (rule in chain output): No such file or directory (ENOENT)',
  ]);
});
