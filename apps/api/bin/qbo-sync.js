#!/usr/bin/env node
// The operator CLI (apps/api/src/cli.ts), run through tsx like the service itself.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../src/cli.ts');
process.exitCode = await runCli(process.argv.slice(2));
