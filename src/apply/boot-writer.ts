// apply's part of the boot fast path: the boot file (records/boot-file.ts) staged while the
// kernel processes the batch, and put in place once the index is committed. It never fails an
// apply: without a boot file the next boot takes the full apply, which is only slower.

import { bootable, dropBootFile, finishBootFile, stageBootFile, type StagedBootFile } from '../records/boot-file.js';
import type { AppliedRecord, Committed } from '../records/state.js';
import { bootPolicyFile } from '../selinux/policy-file.js';
import type { Notes } from './notes.js';

export class BootFileWriter {
  private staged: StagedBootFile | undefined;

  /**
   * `why`: undefined when this apply may leave a boot file, else why not (an option the unit's
   * own apply does not have, apps by program path): said as a note.
   */
  constructor(
    private readonly stateDir: string,
    private readonly lsm: boolean,
    private readonly notes: Notes,
    private readonly why: string | undefined,
  ) {}

  /** While the kernel works: the record is staged, the batch is being sent. Never throws. */
  stage(record: AppliedRecord, batch: Uint8Array): void {
    if (this.why !== undefined) return;
    try {
      // Read after semodule: the policy file that has the module in it, which the audit ran against.
      const selinuxPolicy = this.lsm ? bootPolicyFile() : undefined;
      if (this.lsm && !selinuxPolicy) return this.notes.note('no boot file for the fast boot path: the SELinux policy file (/etc/selinux/config, SELINUXTYPE) was not found');
      const inputs = { table: record.table, appliedAt: record.appliedAt, digest: record.digest, lsm: this.lsm, policy: record.source, selinuxPolicy, batch };
      if (!bootable(inputs)) return;
      this.staged = stageBootFile(this.stateDir, inputs);
    } catch (error) {
      this.notes.note(`no boot file for the fast boot path: ${this.notes.describe(error)}`);
    }
  }

  /** The index was committed: the staged boot file goes in place (or, on failure, away). */
  finish(committed: Committed): void {
    const staged = this.staged;
    this.staged = undefined;
    if (!staged) return;
    try {
      if (!committed.indexSha256) throw new Error('internal error: the index was not written');
      finishBootFile(staged, committed.indexSha256);
    } catch (error) {
      dropBootFile(staged);
      this.notes.note(`no boot file for the fast boot path: ${this.notes.describe(error)}`);
    }
  }

  /** The load failed or was not recorded. */
  drop(): void {
    dropBootFile(this.staged);
    this.staged = undefined;
  }
}
