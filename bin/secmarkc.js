#!/usr/bin/env node
// Entry point: the compiled CLI in dist/ (built by `npm install` / `npm run build:ts`).
import { main } from '../dist/cli/main.js';

await main(process.argv);
