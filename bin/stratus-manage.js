#!/usr/bin/env node
// Launcher for the admin command; see bin/stratus.js for why it goes through tsx.
import { register } from 'tsx/esm/api';
register();
await import('../src/cmd/stratus-manage.ts');
