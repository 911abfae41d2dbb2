// The emitted nft text is accepted by the real nft parser and kernel, and our JSON agrees with
// what `nft -j list ruleset` prints for the same content. The host kernel has no SELinux, so
// the ruleset is loaded with counter objects standing in for secmark objects (same structure);
// the secmark text itself must fail only where the kernel needs an LSM (ENOENT).

import { compilePolicy } from '../src/compile/compile.js';
import { withCounterObjects } from '../src/compile/substitute.js';
import { nftJsonObjects } from '../src/emit/nft-json.js';
import { emitNftText } from '../src/emit/nft-text.js';
import { cases, readPolicy, readPortTable } from './helpers/fixtures.js';
import { inFreshNamespace, normaliseNftJson, nsTest, nsTitle } from './helpers/namespace.js';

type Json = { [key: string]: unknown };


for (const { name, dir } of cases('valid')) {
  const compiled = compilePolicy(readPolicy(dir), 'policy.yaml', readPortTable(dir));

  nsTest(nsTitle(`valid/${name}: nft loads our text (twice: replace is idempotent) and lists what our JSON says`), (t) => {
    if (!compiled.ok) return t.fail('fixture does not compile');
    const ruleset = withCounterObjects(compiled.compiled.ruleset);
    const text = emitNftText(ruleset);
    const run = inFreshNamespace('f=$(mktemp) && cat > "$f" && nft -f "$f" && nft -f "$f" && nft -j list ruleset; s=$?; rm -f "$f"; exit $s', text);
    t.is(run.status, 0, run.stderr);
    const listed = (JSON.parse(run.stdout) as { nftables: unknown[] }).nftables;
    t.deepEqual(normaliseNftJson(listed), normaliseNftJson(nftJsonObjects(ruleset)));
  });

  nsTest(nsTitle(`valid/${name}: the secmark text fails only on what needs an LSM`), (t) => {
    if (!compiled.ok) return t.fail('fixture does not compile');
    const text = emitNftText(compiled.compiled.ruleset);
    const run = inFreshNamespace('nft -c -f /dev/stdin', text);
    const errors = run.stderr.split('\n').filter((line) => line.includes('Error:'));
    const hasSecmark = compiled.compiled.ruleset.objects.length > 0;
    t.is(run.status, hasSecmark ? 1 : 0, run.stderr);
    for (const line of errors) t.regex(line, /Could not process rule: No such file or directory$/, run.stderr);
  });
}

nsTest(nsTitle('loading a new version replaces our table whole and leaves other tables untouched'), (t) => {
  const version = (port: number): string => {
    const result = compilePolicy(`version: 1\nunlabeled: allow\napps:\n  a:\n    domain: a_t\n    connect:\n      - ports: [tcp/${port}]\n`, 'p.yaml');
    if (!result.ok) throw new Error('test policy does not compile');
    return emitNftText(withCounterObjects(result.compiled.ruleset));
  };
  const foreign = 'table ip other {\n chain c {\n  type filter hook output priority 10; policy accept;\n  tcp dport 9 counter\n }\n}\n';
  const script = [
    'd=$(mktemp -d)',
    'cat > "$d/all"',
    'csplit -s -f "$d/part" "$d/all" "/^#SPLIT$/" "{*}"',
    'nft -f "$d/part00" && nft -f "$d/part01" && nft -f "$d/part02" && nft -j list ruleset',
    's=$?; rm -rf "$d"; exit $s',
  ].join('\n');
  const run = inFreshNamespace(script, `${foreign}#SPLIT\n${version(1111)}#SPLIT\n${version(2222)}`);
  t.is(run.status, 0, run.stderr);
  const objects = (JSON.parse(run.stdout) as { nftables: Json[] }).nftables;
  const text = JSON.stringify(objects);
  t.true(objects.some((o) => (o.table as Json | undefined)?.name === 'other'), 'the foreign table survives');
  t.true(objects.some((o) => (o.rule as Json | undefined)?.table === 'other'), 'its rule survives');
  t.true(text.includes('2222'), 'the new version is loaded');
  t.false(text.includes('1111'), 'nothing of the old version remains');
});
