#!/usr/bin/env node
// Entry point: the bundled CLI (built by `npm install` / `npm run build:ts`, see scripts/bundle.mjs).
import { main } from '../dist/bundle/main.js';

await main(process.argv);
