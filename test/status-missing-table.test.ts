// `status` when the records say a table was applied and the kernel has none: a ruleset flush
// deleted it. It names the likely cause (nftables.service when /etc/nftables.conf flushes the
// ruleset) and the fix, in text and in --json. Private network and mount namespaces: the
// /etc/nftables.conf it reads is in a tmpfs over /etc, never the host's.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './helpers/cli.js';
import { inFreshNamespace, NFT, nsTest, nsTitle } from './helpers/namespace.js';

const CLI = `${process.execPath} ${join(ROOT, 'bin/secmarkc.js')}`;
const EXAMPLE = join(ROOT, 'examples/browser-proxy.yaml');

interface Missing {
  causes: string[];
  nftablesConf?: { path: string; flushesRuleset: boolean };
  fix: string[];
}

function flushed(conf: string | undefined): { text: string; json: { record: { missing?: Missing; consistent?: boolean } }; status: string } {
  const dir = mkdtempSync(join(tmpdir(), 'secmarkc-missing-'));
  const state = join(dir, 'state');
  const opts = `--no-lsm --state-dir ${state}`;
  // A private /etc (tmpfs in a private mount namespace) holding our nftables.conf, or none.
  let mount = 'mount -t tmpfs none /etc || exit 7';
  if (conf !== undefined) {
    writeFileSync(join(dir, 'nftables.conf'), conf);
    mount += `; cp ${join(dir, 'nftables.conf')} /etc/nftables.conf`;
  }
  const run = inFreshNamespace(
    [
      `${CLI} apply ${EXAMPLE} ${opts} 2>/dev/null || exit 9`,
      `${NFT} flush ruleset`,
      `unshare -m sh -c '${mount}; ${CLI} status ${opts} > ${dir}/text; echo "text rc=$?"; ${CLI} status --json ${opts} > ${dir}/json; true'`,
    ].join('\n'),
  );
  if (run.status !== 0) throw new Error(`exit ${run.status}: ${run.stderr}`);
  return { text: readFileSync(join(dir, 'text'), 'utf8'), json: JSON.parse(readFileSync(join(dir, 'json'), 'utf8')) as never, status: run.stdout };
}

nsTest(nsTitle('status after a ruleset flush names nftables.service when /etc/nftables.conf flushes the ruleset, and the fix (exit 3)'), (t) => {
  const r = flushed('#!/usr/sbin/nft -f\n\nflush ruleset\n\ntable inet filter {\n}\n');
  t.regex(r.status, /^text rc=3$/m);
  t.regex(r.text, /^table inet secmarkc: not loaded$/m);
  t.regex(
    r.text,
    new RegExp(
      'record: MISMATCH: the records say the live table is the current record .*, but the live table is no table .*\\. ' +
        'Likely cause: a ruleset flush: /etc/nftables\\.conf has "flush ruleset", so a start, restart or reload of nftables\\.service deletes table inet secmarkc .*' +
        `Load it again: systemctl restart secmarkc, or secmarkc apply ${EXAMPLE}$`,
      'm',
    ),
  );
  t.deepEqual(r.json.record.missing, {
    causes: ['nftables.service', 'firewalld', 'nft flush ruleset'],
    nftablesConf: { path: '/etc/nftables.conf', flushesRuleset: true },
    fix: ['systemctl restart secmarkc', `secmarkc apply ${EXAMPLE}`],
  });
  t.false(r.json.record.consistent);
});

nsTest(nsTitle('status after a ruleset flush without a flushing nftables.conf: nft flush ruleset first; no nftables.conf: not named'), (t) => {
  const quiet = flushed('table inet filter {\n}\n');
  t.regex(quiet.status, /^text rc=3$/m);
  t.regex(quiet.text, /Likely cause: a ruleset flush: `nft flush ruleset`, a script or service that loads a ruleset beginning with "flush ruleset" \(nftables\.service\), or firewalld\. Load it again: /);
  t.deepEqual(quiet.json.record.missing?.causes, ['nft flush ruleset', 'nftables.service', 'firewalld']);
  t.deepEqual(quiet.json.record.missing?.nftablesConf, { path: '/etc/nftables.conf', flushesRuleset: false });
  const none = flushed(undefined);
  t.regex(none.status, /^text rc=3$/m);
  t.is(none.json.record.missing?.nftablesConf, undefined);
});

