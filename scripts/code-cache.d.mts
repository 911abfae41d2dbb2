// Types of scripts/code-cache.mjs, for the tests that use it.
/** The node options of the systemd unit's ExecStart, e.g. ['--jitless', '--no-expose-wasm']. */
export function unitNodeFlags(): string[];
/** Writes the bundle's code caches, one per node flag set. */
export function writeCodeCache(): Promise<void>;
