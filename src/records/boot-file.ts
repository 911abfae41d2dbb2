// `<table>.boot`: the batch the last apply sent, kept encoded for native/secmarkc-boot, which sends
// it again at boot without Node once it has checked that nothing it depends on changed (README,
// "At boot"). A short text header (`key value` lines, a blank line), then the batch's bytes.
//
// It is written while the kernel processes the batch, under a temporary name, with a placeholder
// for the sha256 of the index; once the index is committed, that sha256 is written into its place
// and the file renamed into place. Every writer removes it when it begins a load
// (state-session.ts), so a boot file never outlives its index; the loader checks the index's
// sha256 all the same.
//
// Not fsynced (as writeFileOnce): whole or absent under its name if apply is killed, not across a
// power loss. Its reader needs no more: secmarkc-boot checks the batch's sha256 and the index's,
// and anything torn or lost means the full apply at the next boot, which is only slower; while two
// fsyncs (file and directory) would cost every apply of a small policy ~5-20 ms here.

import { randomBytes } from 'node:crypto';
import { closeSync, constants, existsSync, lstatSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { HOST_LITTLE_ENDIAN } from '../netlink/wire/byte-order.js';
import { NFNL_BATCH_GENID } from '../netlink/wire/constants.js';
import type { FileIdentity } from '../selinux/policy-file.js';
import { sha256 } from './state-dir.js';

export const BOOT_FORMAT = 'secmarkc-boot 1';

export const bootPath = (stateDir: string, table: string): string => join(stateDir, `${table}.boot`);

export interface BootFileInputs {
  readonly table: string;
  readonly appliedAt: string;
  readonly digest: string;
  /** secmark objects, or counter objects (--no-lsm). */
  readonly lsm: boolean;
  /** The policy file (absolute) and the sha256 of its text, as the record has them. */
  readonly policy: { readonly path: string; readonly sha256: string };
  /** The binary SELinux policy the exclusivity audit ran against; undefined under --no-lsm. */
  readonly selinuxPolicy: FileIdentity | undefined;
  /** The batch as it was sent (BATCH_BEGIN with NFNL_BATCH_GENID first). */
  readonly batch: Uint8Array;
}

/** A boot file written under a temporary name, waiting for the index's sha256. */
export interface StagedBootFile {
  readonly temp: string;
  readonly path: string;
  /** Where the 64 hex digits of the index's sha256 go. */
  readonly indexShaOffset: number;
}

const PLACEHOLDER = '0'.repeat(64);
/** nlmsghdr (16) + nfgenmsg (4): BATCH_BEGIN's first attribute, the generation id, follows. */
const GENID_ATTR = 20;

/** Where the batch's generation id is (its value's offset), checked against the bytes. */
export function genIdOffset(batch: Uint8Array): number {
  const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
  const le = HOST_LITTLE_ENDIAN; // netlink headers are in host order
  if (batch.length < GENID_ATTR + 8 || view.getUint16(GENID_ATTR, le) !== 8 || view.getUint16(GENID_ATTR + 2, le) !== NFNL_BATCH_GENID) {
    throw new Error('internal error: the batch does not begin with a generation id');
  }
  return GENID_ATTR + 4;
}

/** A value the one-line header can hold. */
const lineSafe = (s: string): boolean => !/[\n\r]/.test(s) && s.length > 0;

/** The header, up to and with its blank line; and where the index's sha256 placeholder is in it. */
export function bootHeader(i: BootFileInputs): { text: string; indexShaOffset: number } {
  const id = i.selinuxPolicy;
  const lines = [
    `format ${BOOT_FORMAT}`,
    `table ${i.table}`,
    `applied-at ${i.appliedAt}`,
    `digest ${i.digest}`,
    `lsm ${i.lsm ? 'secmark' : 'counter'}`,
    `policy ${i.policy.path}`,
    `policy-sha256 ${i.policy.sha256}`,
    `selinux-policy ${id ? `${id.dev} ${id.ino} ${id.size} ${id.mtimeNs} ${id.ctimeNs} ${id.path}` : 'none'}`,
    `genid-offset ${genIdOffset(i.batch)}`,
    `batch-length ${i.batch.length}`,
    `batch-sha256 ${sha256(Buffer.from(i.batch.buffer, i.batch.byteOffset, i.batch.byteLength))}`,
  ];
  const before = `${lines.join('\n')}\nindex-sha256 `;
  return { text: `${before}${PLACEHOLDER}\n\n`, indexShaOffset: Buffer.byteLength(before) };
}

/** Whether these inputs can be kept: paths the header can hold. */
export function bootable(i: Pick<BootFileInputs, 'policy' | 'selinuxPolicy'>): boolean {
  return lineSafe(i.policy.path) && i.policy.path.startsWith('/') && (!i.selinuxPolicy || lineSafe(i.selinuxPolicy.path));
}

/** Write header and batch under a temporary name (`<table>.boot.<12 hex>.tmp`: swept as ours). */
export function stageBootFile(stateDir: string, inputs: BootFileInputs): StagedBootFile {
  const path = bootPath(stateDir, inputs.table);
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const header = bootHeader(inputs);
  const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = constants;
  try {
    const fd = openSync(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
    try {
      for (const piece of [Buffer.from(header.text), inputs.batch]) {
        for (let done = 0; done < piece.length; ) done += writeSync(fd, piece, done);
      }
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  return { temp, path, indexShaOffset: header.indexShaOffset };
}

/** The index was committed with this sha256: it goes into its place, and the boot file takes its name. */
export function finishBootFile(staged: StagedBootFile, indexSha256: string): void {
  try {
    const fd = openSync(staged.temp, constants.O_WRONLY | constants.O_NOFOLLOW);
    try {
      writeSync(fd, indexSha256, staged.indexShaOffset, 'latin1');
    } finally {
      closeSync(fd);
    }
    renameSync(staged.temp, staged.path);
  } catch (error) {
    dropBootFile(staged);
    throw error;
  }
}

/**
 * Forget a staged boot file (the load failed). Best effort, never throws: it runs on error paths,
 * and a temporary left behind is swept by the next writer.
 */
export function dropBootFile(staged: StagedBootFile | undefined): void {
  try {
    if (staged) rmSync(staged.temp, { force: true });
  } catch {
    // A read-only state directory: the sweep removes it later.
  }
}

/**
 * A writer begins a load: the boot file no longer says what is live. Only when there is one: on
 * a read-only file system unlink fails with EROFS even for a name that does not exist.
 */
export function removeBootFile(stateDir: string, table: string): void {
  const path = bootPath(stateDir, table);
  if (existsSync(path) || isSymlink(path)) rmSync(path, { force: true });
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}
