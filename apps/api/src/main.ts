// `npm start`: until the service itself lands, this runs the embedded qbo-sandbox with a
// demo company and a registered app, so the offline QuickBooks can be explored at once.
import { startSandbox } from 'qbo-sandbox';

const port = Number(process.env.SANDBOX_PORT ?? 4010);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`SANDBOX_PORT must be a port number (0-65535), got "${process.env.SANDBOX_PORT}"`);
  process.exit(2);
}

const sandbox = await startSandbox({ port });
const company = sandbox.addCompany({ companyName: 'Demo Company' });
const app = sandbox.registerApp({
  name: 'qbo-sync (local)',
  redirectUris: ['http://localhost:3000/api/quickbooks/callback'],
});

console.log(`qbo-sandbox running at ${sandbox.url}
  company:  ${company.companyName} (realmId ${company.realmId})
  app:      client id ${app.clientId}
  consent:  ${sandbox.url}/connect/oauth2?client_id=${app.clientId}&response_type=code&scope=com.intuit.quickbooks.accounting&redirect_uri=${encodeURIComponent(app.redirectUris[0]!)}&state=demo
Press Ctrl+C to stop.`);

const stop = (): void => {
  void sandbox.close().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
