// A process that carries out one recorded sync run and nothing else, for the kill test:
// `node --import tsx apps/api/test/sync-child.ts` with the job as JSON on stdin (the
// database, the sandbox's Intuit configuration, the token key, the run). It prints
// "STARTED" once its services are built; the test kills it with SIGKILL midway.
import pino from 'pino';
import { intuitUrls } from '../src/config.ts';
import { buildServices } from '../src/infra/container.ts';
import { createDatabase } from '../src/infra/db.ts';

export interface SyncChildJob {
  database: { dataDir: string } | { databaseUrl: string; schema: string };
  sandboxUrl: string;
  clientId: string;
  clientSecret: string;
  tokenKeyHex: string;
  runId: string;
}

let input = '';
for await (const chunk of process.stdin) input += String(chunk);
const job = JSON.parse(input) as SyncChildJob;
const database = await createDatabase(job.database);
const services = buildServices({
  db: database.db,
  intuit: {
    clientId: job.clientId,
    clientSecret: job.clientSecret,
    redirectUri: 'http://localhost/callback',
    environment: 'sandbox',
    webhookVerifierToken: 'unused',
    sandboxUrl: job.sandboxUrl,
    urls: intuitUrls('sandbox', job.sandboxUrl),
  },
  adminApiToken: 'unused',
  tokenKeyring: { currentKeyId: 'kill', keys: { kill: job.tokenKeyHex } },
  minorVersion: 75,
  logger: pino({ level: 'silent' }),
});
console.log('STARTED');
await services.sync.runRun(job.runId);
console.log('FINISHED');
await database.close();
process.exit(0);
