// Golden wire bytes taken from nft(8) itself (google/nftables' nftest style): capture the
// batch nft sends for a .nft file (strace of sendmsg), store it 4 bytes a line with the exact
// command on top, and show a side-by-side diff, 4 bytes a line, when our encoding differs.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { NFNL_MSG_BATCH_BEGIN, NFNL_MSG_BATCH_END, NLM_F_ACK } from '../../../src/netlink/wire/constants.js';
import { parseMessages } from '../../../src/netlink/wire/message.js';
import { NFT, SYSTEM_PATH } from '../../helpers/namespace.js';

export const WIRE_FIXTURES = new URL('../../fixtures/wire/', import.meta.url).pathname;
const REPO = new URL('../../../', import.meta.url).pathname;

export function captureCommand(nftFile: string): string {
  return `unshare -n strace -f -qq -e trace=sendto,sendmsg,recvmsg -e write=all -e read=all -o OUT ${NFT} -f ${relative(REPO, nftFile)}`;
}

/**
 * Our batch as nft's would be: we ask for an ACK on the last message before BATCH_END (it marks
 * the end of the kernel's answers), nft -f asks for none; a copy with our NLM_F_ACK cleared.
 */
export function withoutAck(bytes: Uint8Array): Uint8Array {
  const copy = bytes.slice();
  const view = new DataView(copy.buffer);
  for (const m of parseMessages(copy)) {
    if (m.type === NFNL_MSG_BATCH_END) continue;
    view.setUint16(m.offset + 6, m.flags & ~NLM_F_ACK, true);
  }
  return copy;
}

/** Why capturing cannot work here, if it cannot. */
export function captureSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root for unshare -n';
  if (spawnSync('strace', ['-V']).status !== 0) return 'needs strace';
  if (spawnSync(NFT, ['--version']).status !== 0) return 'needs nft(8)';
  return undefined;
}

export interface StraceCall {
  readonly syscall: 'sendmsg' | 'sendto' | 'recvmsg';
  readonly bytes: Uint8Array;
}

/** The data of every sendmsg/sendto/recvmsg in an strace `-e write=all -e read=all` log. */
export function parseStraceCalls(log: string): StraceCall[] {
  const calls: { syscall: StraceCall['syscall']; bytes: number[] }[] = [];
  let current: number[] | undefined;
  for (const line of log.split('\n')) {
    const call = /^(?:\d+ +)?(sendmsg|sendto|recvmsg)\(/.exec(line);
    if (call) {
      current = [];
      calls.push({ syscall: call[1] as StraceCall['syscall'], bytes: current });
      continue;
    }
    const m = /^ \| [0-9a-f]{5,} {2}(.{49})/.exec(line);
    if (m && current) for (const hex of (m[1] as string).match(/[0-9a-f]{2}/g) ?? []) current.push(parseInt(hex, 16));
  }
  return calls.filter((c) => c.bytes.length > 0).map((c) => ({ syscall: c.syscall, bytes: Uint8Array.from(c.bytes) }));
}

function runStrace(script: (out: string) => string[]): { calls: StraceCall[]; status: number | null; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'secmarkc-golden-'));
  try {
    const out = join(dir, 'strace.log');
    const r = spawnSync('unshare', ['-n', ...script(out)], { encoding: 'utf8', env: { ...process.env, PATH: SYSTEM_PATH }, maxBuffer: 64 * 1024 * 1024 });
    if (!existsSync(out)) throw new Error(`strace wrote nothing: ${r.stderr}`);
    return { calls: parseStraceCalls(readFileSync(out, 'utf8')), status: r.status, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const STRACE = ['strace', '-f', '-qq', '-e', 'trace=sendto,sendmsg,recvmsg', '-e', 'write=all', '-e', 'read=all', '-o'];

/** Run nft on `nftFile` in a fresh network namespace and return the batch it sent. */
export function captureBatch(nftFile: string): { bytes: Uint8Array; nftStatus: number | null; nftStderr: string } {
  const r = runStrace((out) => [...STRACE, out, NFT, '-f', nftFile]);
  const batch = r.calls.find((c) => {
    const msgs = c.syscall === 'sendmsg' && c.bytes.length >= 20 ? parseMessages(c.bytes) : [];
    return msgs[0]?.type === NFNL_MSG_BATCH_BEGIN && msgs[msgs.length - 1]?.type === NFNL_MSG_BATCH_END;
  });
  if (!batch) throw new Error(`no BATCH_BEGIN..BATCH_END sendmsg in the strace log (nft: ${r.stderr})`);
  return { bytes: batch.bytes, nftStatus: r.status, nftStderr: r.stderr };
}

export function dumpCommand(setupFile: string): string {
  return `unshare -n sh -c '${NFT} -f ${relative(REPO, setupFile)} && strace -f -qq -e trace=sendto,sendmsg,recvmsg -e write=all -e read=all -o OUT ${NFT} list ruleset'`;
}

/** Load `setupFile` with nft in a fresh namespace, then record what `nft list ruleset` sends and receives. */
export function captureDump(setupFile: string): StraceCall[] {
  const r = runStrace((out) => ['sh', '-c', `"$0" -f "$1" && strace -f -qq -e trace=sendto,sendmsg,recvmsg -e write=all -e read=all -o "$2" "$0" list ruleset >/dev/null`, NFT, setupFile, out]);
  if (r.status !== 0) throw new Error(`nft failed: ${r.stderr}`);
  return r.calls;
}

/** A dump fixture: each call as `# send`/`# recv` then its messages, 4 bytes a line. */
export function formatDumpFixture(setupFile: string, calls: readonly StraceCall[], note: string): string {
  const version = spawnSync(NFT, ['--version'], { encoding: 'utf8' }).stdout.trim();
  const lines = [`# Captured from ${version} and this kernel with:`, `#   ${dumpCommand(setupFile)}`, `# ${note}`, '# Regenerate with UPDATE_GOLDEN=1 npx ava test/netlink/decode.test.ts'];
  for (const c of calls) {
    lines.push(c.syscall === 'recvmsg' ? '# recv' : '# send');
    lines.push(...messageLines(c.bytes));
  }
  return lines.join('\n') + '\n';
}

export function parseDumpFixture(text: string): { direction: 'send' | 'recv'; bytes: Uint8Array }[] {
  const out: { direction: 'send' | 'recv'; bytes: number[] }[] = [];
  for (const line of text.split('\n')) {
    if (line === '# send' || line === '# recv') out.push({ direction: line === '# send' ? 'send' : 'recv', bytes: [] });
    else if (!line.startsWith('#') && line.trim() !== '') for (const hex of line.trim().split(/\s+/)) out[out.length - 1]?.bytes.push(parseInt(hex, 16));
  }
  return out.map((d) => ({ direction: d.direction, bytes: Uint8Array.from(d.bytes) }));
}

function hexWord(bytes: Uint8Array, offset: number): string {
  const out: string[] = [];
  for (let i = offset; i < Math.min(offset + 4, bytes.length); i++) out.push((bytes[i] as number).toString(16).padStart(2, '0'));
  return out.join(' ');
}

function messageLines(bytes: Uint8Array): string[] {
  const lines: string[] = [];
  for (const m of parseMessages(bytes)) {
    lines.push(`# message seq ${m.seq} type 0x${m.type.toString(16).padStart(4, '0')} flags 0x${m.flags.toString(16).padStart(4, '0')} length ${m.length}`);
    for (let p = m.offset; p < m.offset + ((m.length + 3) & ~3); p += 4) lines.push(hexWord(bytes, p));
  }
  return lines;
}

/** The fixture text: command and provenance as comments, then 4 bytes a line, a comment per message. */
export function formatFixture(nftFile: string, bytes: Uint8Array, note: string): string {
  const version = spawnSync(NFT, ['--version'], { encoding: 'utf8' }).stdout.trim();
  const lines = [
    `# Captured from ${version} (nft -f ${relative(REPO, nftFile)}) with:`,
    `#   ${captureCommand(nftFile)}`,
    `# ${note}`,
    '# The batch sendmsg(2), 4 bytes a line; regenerate with UPDATE_GOLDEN=1 npx ava test/netlink/golden.test.ts',
    ...messageLines(bytes),
  ];
  return lines.join('\n') + '\n';
}

export function parseFixture(text: string): Uint8Array {
  const out: number[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    for (const hex of line.trim().split(/\s+/)) out.push(parseInt(hex, 16));
  }
  return Uint8Array.from(out);
}

export function readFixture(name: string): Uint8Array {
  return parseFixture(readFileSync(join(WIRE_FIXTURES, `${name}.txt`), 'utf8'));
}

export function writeFixture(name: string, text: string): void {
  writeFileSync(join(WIRE_FIXTURES, `${name}.txt`), text);
}

/**
 * Side by side, 4 bytes a line, `>` on lines that differ, with message starts labelled; only
 * `context` lines around each difference are shown.
 */
export function sideBySide(ours: Uint8Array, theirs: Uint8Array, context = 12): string {
  const starts = new Map<number, string>();
  try {
    for (const m of parseMessages(theirs)) starts.set(m.offset, `message seq ${m.seq} type 0x${m.type.toString(16)} flags 0x${m.flags.toString(16)}`);
  } catch {
    // a malformed side still gets its bytes shown
  }
  const n = Math.ceil(Math.max(ours.length, theirs.length) / 4);
  const differs: boolean[] = [];
  for (let i = 0; i < n; i++) differs.push(hexWord(ours, i * 4) !== hexWord(theirs, i * 4));
  const shown = differs.map((_, i) => differs.slice(Math.max(0, i - context), i + context + 1).some(Boolean));
  const lines = [`lengths: ours ${ours.length}, nft ${theirs.length}`, '       offset  ours          nft'];
  let elided = false;
  for (let i = 0; i < n; i++) {
    const p = i * 4;
    if (!shown[i]) {
      if (!elided) lines.push('       ...');
      elided = true;
      continue;
    }
    elided = false;
    const label = starts.get(p);
    if (label) lines.push(`       -- ${label}`);
    const a = hexWord(ours, p).padEnd(11);
    const b = hexWord(theirs, p).padEnd(11);
    lines.push(`${differs[i] ? '>' : ' '}      ${p.toString(16).padStart(6, '0')}  ${a}   ${b}`);
  }
  return lines.join('\n');
}
