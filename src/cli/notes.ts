// The notes of src/apply/ (the load workflow, the writer's session) as the CLI says them: on
// stderr, errors worded as every command words them.

import type { Notes } from '../apply/notes.js';
import { describeError } from './report.js';

export const stderrNotes: Notes = {
  note: (message) => void process.stderr.write(`secmarkc: ${message}\n`),
  describe: describeError,
};
