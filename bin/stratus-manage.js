#!/usr/bin/env node
// Launcher for the admin command; see bin/stratus.js.
import { runCommand } from '../scripts/build.mjs';
await runCommand('stratus-manage');
