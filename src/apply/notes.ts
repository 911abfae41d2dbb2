// How the load workflow and the writer's session speak without printing: the CLI says the notes
// (stderr) and words errors one way for every command (cli/report.ts, describeError).

/** Functions, not methods: the workflow passes them on on their own. */
export interface Notes {
  /** A note for whoever runs the command (stderr: `secmarkc: MESSAGE`). */
  readonly note: (message: string) => void;
  /** An error in words. */
  readonly describe: (error: unknown) => string;
}
