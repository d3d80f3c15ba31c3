#!/usr/bin/env node
// Launcher: runs the compiled form of src/cmd/stratus.ts, building it first if the sources changed
// (scripts/build.mjs says why compiled, and how it never runs a stale copy).
import { runCommand } from '../scripts/build.mjs';
await runCommand('stratus');
