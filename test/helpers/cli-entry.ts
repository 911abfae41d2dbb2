// Runs the CLI from source (tests must not depend on a stale dist/).
import { main } from '../../src/cli/main.js';

await main(process.argv);
