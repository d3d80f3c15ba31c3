#!/usr/bin/env node
// Launcher: runs the TypeScript sources through tsx, so a checkout works right after `npm ci`
// with no separate build step and no stale compiled copy.
import { register } from 'tsx/esm/api';
register();
await import('../src/cmd/stratus.ts');
