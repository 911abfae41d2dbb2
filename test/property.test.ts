// Property tests: whatever the input, the compiler returns a result or diagnostics — it never
// throws — and what it accepts is sound (no overlapping map elements, only validated names).

import test from 'ava';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { bytesToBigint } from '../src/policy/address.js';
import { compilePolicy } from '../src/compile/compile.js';
import type { MapElement } from '../src/compile/ir.js';
import { emitCil } from '../src/emit/cil.js';
import { emitNftText } from '../src/emit/nft-text.js';
import { cases, readPolicy } from './helpers/fixtures.js';

const RUNS = 400;

function compileNeverThrows(text: string): ReturnType<typeof compilePolicy> {
  return compilePolicy(text, 'random.yaml');
}

test('arbitrary text yields a result or positioned diagnostics, never an exception', (t) => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (text) => {
      const result = compileNeverThrows(text);
      if (!result.ok) {
        return result.diagnostics.length > 0 && result.diagnostics.every((d) => d.span.line >= 1 && d.span.col >= 1 && /^SMC\d{3}$/.test(d.code));
      }
      return true;
    }),
    { numRuns: RUNS },
  );
  t.pass();
});

test('mutated fixtures (characters deleted, inserted, swapped) never throw', (t) => {
  const seeds = cases('valid').map(({ dir }) => readPolicy(dir));
  fc.assert(
    fc.property(
      fc.constantFrom(...seeds),
      fc.array(fc.tuple(fc.nat(), fc.constantFrom('delete', 'insert', 'swap'), fc.constantFrom(' ', ':', '-', '[', ']', '"', '\n', '/', '.', 'x', '9', '&', '*')), { maxLength: 6 }),
      (seed, edits) => {
        let text = seed;
        for (const [position, op, char] of edits) {
          const i = text.length === 0 ? 0 : position % text.length;
          if (op === 'delete') text = text.slice(0, i) + text.slice(i + 1);
          else if (op === 'insert') text = text.slice(0, i) + char + text.slice(i);
          else text = text.slice(0, i) + char + text.slice(i + 1);
        }
        compileNeverThrows(text);
        return true;
      },
    ),
    { numRuns: RUNS },
  );
  t.pass();
});

// Random but well-formed-looking policies: compile, and when accepted the output is sound.
const octet = fc.integer({ min: 0, max: 255 });
const address = fc.oneof(
  fc.tuple(octet, octet).map(([a, b]) => `192.0.${a % 4}.${b}`),
  fc.tuple(octet, fc.integer({ min: 16, max: 32 })).map(([a, len]) => `198.51.${a}.0/${len}`),
  fc.integer({ min: 0, max: 0xffff }).map((n) => `2001:db8::${n.toString(16)}`),
  fc.tuple(fc.integer({ min: 0, max: 0xff }), fc.integer({ min: 32, max: 128 })).map(([n, len]) => `2001:db8:${n.toString(16)}::/${len}`),
  fc.constantFrom('not-an-address', '10.0.0.1/8', '0.0.0.0/0', '::/0'),
);
const port = fc.oneof(
  fc.tuple(fc.constantFrom('tcp', 'udp', 'sctp'), fc.integer({ min: 0, max: 70000 })).map(([p, n]) => `${p}/${n}`),
  fc.tuple(fc.constantFrom('tcp', 'udp'), fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 0, max: 200 })).map(([p, a, w]) => `${p}/${a}-${Math.min(65535, a + w)}`),
  fc.constantFrom('icmp', 'icmpv6', 'gre/1'),
);
const rule = fc.record({ peers: fc.option(fc.array(address, { minLength: 1, maxLength: 4 })), ports: fc.array(port, { minLength: 1, maxLength: 4 }) });
const app = fc.record({
  domain: fc.constantFrom('a_t', 'b_t', 'c_t', 'bad-domain'),
  connect: fc.array(rule, { maxLength: 3 }),
  serve: fc.array(rule, { maxLength: 2 }),
});
const policy = fc.record({
  unlabeled: fc.constantFrom('allow', 'audit', 'deny'),
  apps: fc.dictionary(fc.constantFrom('web', 'mail', 'dns', 'x', 'Bad'), app, { maxKeys: 4 }),
});

interface RandomRule {
  peers: string[] | null;
  ports: string[];
}
interface RandomPolicy {
  unlabeled: string;
  apps: Record<string, { domain: string; connect: RandomRule[]; serve: RandomRule[] }>;
}

function toYaml(p: RandomPolicy): string {
  const apps: Record<string, unknown> = {};
  for (const [name, a] of Object.entries(p.apps)) {
    const rules = (list: RandomRule[], key: 'to' | 'from'): unknown[] => list.map((r) => ({ ...(r.peers ? { [key]: r.peers } : {}), ports: r.ports }));
    apps[name] = { domain: a.domain, ...(a.connect.length ? { connect: rules(a.connect, 'to') } : {}), ...(a.serve.length ? { serve: rules(a.serve, 'from') } : {}) };
  }
  return stringify({ version: 1, unlabeled: p.unlabeled, apps });
}

function overlaps(a: MapElement, b: MapElement): boolean {
  const [aa, ap, aq] = a.parts;
  const [ba, bp, bq] = b.parts;
  if (aa?.kind !== 'addr' || ba?.kind !== 'addr' || ap?.kind !== 'proto' || bp?.kind !== 'proto' || aq?.kind !== 'port' || bq?.kind !== 'port') throw new Error('unexpected key');
  if (ap.value !== bp.value) return false;
  if (aq.to < bq.from || bq.to < aq.from) return false;
  return !(bytesToBigint(aa.end) < bytesToBigint(ba.start) || bytesToBigint(ba.end) < bytesToBigint(aa.start));
}

test('random policies compile soundly or fail with diagnostics', (t) => {
  let accepted = 0;
  fc.assert(
    fc.property(policy, (p) => {
      const result = compileNeverThrows(toYaml(p));
      if (!result.ok) return result.diagnostics.some((d) => d.severity === 'error');
      accepted++;
      for (const map of result.compiled.ruleset.maps) {
        for (let i = 0; i < map.elements.length; i++) {
          for (let j = i + 1; j < map.elements.length; j++) {
            if (overlaps(map.elements[i]!, map.elements[j]!)) return false;
          }
        }
      }
      // Every CIL line is a comment, blank, or built only from validated identifiers.
      const cil = emitCil(result.compiled.module).split('\n');
      const cilOk = cil.every((line) => line === '' || line.startsWith(';') || /^\((?:[a-z]+ [A-Za-z0-9_ ()]+)\)$/.test(line));
      return cilOk && emitNftText(result.compiled.ruleset).length > 0;
    }),
    { numRuns: RUNS },
  );
  t.true(accepted > RUNS / 10, `only ${accepted} of ${RUNS} random policies were accepted: the generator tests little`);
});
