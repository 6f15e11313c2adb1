import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { defaultConfig, type DeepPartial, type SandboxConfig } from './config.ts';
import type { Sandbox } from './index.ts';
import type { AppRecord } from './core/state.ts';
import type { Company } from './core/company.ts';
import { isEmptyCompany, seedCompany, type SeedResult } from './seed/generate.ts';
import {
  SEED_PRESETS,
  SeedOptionsError,
  resolveSeedOptions,
  type SeedOptions,
} from './seed/options.ts';

const USAGE = `qbo-sandbox: an offline QuickBooks Online

Usage: qbo-sandbox [options]

Server
  --port <n>                 port to listen on, 0 for any free port (default 4010)
  --host <addr>              interface to bind (default 127.0.0.1)
  --config <file.json>       SandboxConfig overrides (token lifetimes, limits, webhooks…)
  --no-limits                disable QBO's request limits (429 throttling)
  --webhook-retry-scale <x>  multiply Intuit's webhook retry delays (e.g. 0.001 in tests)
  --snapshot <file>          load this snapshot at start if it exists, keep it up to date
                             as the state changes, save it on exit
  --snapshot-dir <dir>       let POST /_sandbox/snapshot[/load] name files in this
                             directory (without it: only the --snapshot file)
  --no-autosave              write the --snapshot file on exit only

Company (created at start; without a snapshot or these flags, an empty one)
  --company-name <name>      default "Sandbox Company_US_1"
  --realm-id <id>            default: a random 19-digit id
  --seed <n|string>          fill it with deterministic data from this seed
  --size <${Object.keys(SEED_PRESETS).join('|')}>  seed size: ${Object.entries(SEED_PRESETS)
    .map(([k, v]) => `${k} ${v.toLocaleString('en-US')}`)
    .join(', ')} entities (default small)
  --entities <n>             seed about this many entities in total
  --start-date <YYYY-MM-DD>  first day of the seeded history (default 2025-01-01)

App (registered at start, as on developer.intuit.com)
  --client-id <id>           default: random, Intuit-like
  --client-secret <secret>   default: random
  --redirect-uri <url>       repeatable (default http://localhost:3000/callback)
  --webhook-url <url>        where webhook notifications are POSTed
  --webhook-format <legacy|cloudevents>
  --verifier-token <token>   webhook signing key (default: random)

  -h, --help                 show this help
`;

/** Bad flags: print why and exit 2, as command-line tools conventionally do. */
class UsageError extends Error {}

function fail(message: string): never {
  console.error(`qbo-sandbox: ${message}\nRun "qbo-sandbox --help" for the list of options.`);
  process.exit(2);
}

function parse() {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '4010' },
      host: { type: 'string', default: '127.0.0.1' },
      config: { type: 'string' },
      'no-limits': { type: 'boolean', default: false },
      'webhook-retry-scale': { type: 'string' },
      snapshot: { type: 'string' },
      'snapshot-dir': { type: 'string' },
      'no-autosave': { type: 'boolean', default: false },
      'company-name': { type: 'string' },
      'realm-id': { type: 'string' },
      seed: { type: 'string' },
      size: { type: 'string' },
      entities: { type: 'string' },
      'start-date': { type: 'string' },
      'client-id': { type: 'string' },
      'client-secret': { type: 'string' },
      'redirect-uri': { type: 'string', multiple: true },
      'webhook-url': { type: 'string' },
      'webhook-format': { type: 'string' },
      'verifier-token': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  return values;
}
type Flags = ReturnType<typeof parse>;

function numberFlag(
  name: string,
  text: string,
  expected: string,
  check: (n: number) => boolean,
): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || !check(n))
    throw new UsageError(`--${name} must be ${expected}, got "${text}"`);
  return n;
}

function urlFlag(name: string, text: string): string {
  try {
    const u = new URL(text);
    if (u.protocol === 'http:' || u.protocol === 'https:') return text;
  } catch {
    /* reported below */
  }
  throw new UsageError(`--${name} must be an http(s) URL, got "${text}"`);
}

function configFrom(flags: Flags): DeepPartial<SandboxConfig> {
  let config: Record<string, unknown> = {};
  if (flags.config) {
    let text: string;
    try {
      text = readFileSync(flags.config, 'utf8');
    } catch (err) {
      throw new UsageError(`--config: cannot read ${flags.config}: ${(err as Error).message}`);
    }
    try {
      config = JSON.parse(text) as Record<string, unknown>;
    } catch (err) {
      throw new UsageError(`--config: ${flags.config} is not JSON: ${(err as Error).message}`);
    }
    if (!config || typeof config !== 'object' || Array.isArray(config))
      throw new UsageError(`--config: ${flags.config} must hold a JSON object`);
    const known = Object.keys(defaultConfig()).concat('controlToken');
    const unknown = Object.keys(config).filter((k) => !known.includes(k));
    if (unknown.length)
      throw new UsageError(
        `--config: unknown setting(s) ${unknown.join(', ')}; known: ${known.join(', ')}`,
      );
  }
  const limits = { ...(config.limits as object | undefined) };
  const webhooks = { ...(config.webhooks as object | undefined) };
  if (flags['no-limits']) Object.assign(limits, { enabled: false });
  if (flags['webhook-retry-scale'] !== undefined) {
    const scale = numberFlag(
      'webhook-retry-scale',
      flags['webhook-retry-scale'],
      'a number above 0',
      (n) => n > 0,
    );
    Object.assign(webhooks, { retryScale: scale });
  }
  return { ...config, limits, webhooks };
}

/** Seed options from the flags, or undefined when no seeding was asked for. */
function seedFrom(flags: Flags): SeedOptions | undefined {
  if (!flags.seed && !flags.size && !flags.entities && !flags['start-date']) return undefined;
  const seedText = flags.seed ?? '1';
  const options: SeedOptions = {
    seed: /^-?\d{1,15}$/.test(seedText) ? Number(seedText) : seedText,
    ...(flags.size ? { preset: flags.size as SeedOptions['preset'] } : {}),
    ...(flags.entities
      ? { entities: numberFlag('entities', flags.entities, 'an integer', Number.isInteger) }
      : {}),
    ...(flags['start-date'] ? { startDate: flags['start-date'] } : {}),
  };
  try {
    resolveSeedOptions(options);
  } catch (err) {
    if (err instanceof SeedOptionsError) throw new UsageError(`seed: ${err.message}`);
    throw err;
  }
  return options;
}

interface AppSpec {
  record: Partial<AppRecord> & { redirectUris: string[] };
  /** Any app flag was given (otherwise a snapshot's app is reused). */
  given: boolean;
}

function appFrom(flags: Flags): AppSpec {
  const format = flags['webhook-format'];
  if (format !== undefined && format !== 'legacy' && format !== 'cloudevents')
    throw new UsageError(`--webhook-format must be legacy or cloudevents, got "${format}"`);
  const webhookFormat: AppRecord['webhookFormat'] | undefined = format;
  const redirectUris = (flags['redirect-uri'] ?? ['http://localhost:3000/callback']).map((u) =>
    urlFlag('redirect-uri', u),
  );
  const record = {
    redirectUris,
    ...(flags['client-id'] ? { clientId: flags['client-id'] } : {}),
    ...(flags['client-secret'] ? { clientSecret: flags['client-secret'] } : {}),
    ...(flags['webhook-url'] ? { webhookUrl: urlFlag('webhook-url', flags['webhook-url']) } : {}),
    ...(webhookFormat ? { webhookFormat } : {}),
    ...(flags['verifier-token'] ? { verifierToken: flags['verifier-token'] } : {}),
  };
  const given = [
    'client-id',
    'client-secret',
    'redirect-uri',
    'webhook-url',
    'webhook-format',
    'verifier-token',
  ].some((k) => flags[k as keyof Flags] !== undefined);
  return { record, given };
}

async function main(): Promise<void> {
  let flags: Flags;
  let port: number;
  let config: DeepPartial<SandboxConfig>;
  let seed: SeedOptions | undefined;
  let appSpec: AppSpec;
  try {
    flags = parse();
    if (flags.help) {
      console.log(USAGE);
      process.exit(0);
    }
    port = numberFlag(
      'port',
      flags.port,
      'an integer from 0 to 65535',
      (n) => Number.isInteger(n) && n >= 0 && n <= 65535,
    );
    if (flags['no-autosave'] && !flags.snapshot)
      throw new UsageError('--no-autosave needs --snapshot <file>');
    config = configFrom(flags);
    seed = seedFrom(flags);
    appSpec = appFrom(flags);
  } catch (err) {
    fail((err as Error).message);
  }

  // Loaded only now, so a bad flag is reported without compiling the whole sandbox.
  const { startSandbox } = await import('./index.ts');
  const sandbox = await startSandbox({
    port,
    host: flags.host,
    config,
    ...(flags.snapshot ? { snapshotFile: flags.snapshot } : {}),
    ...(flags['snapshot-dir'] ? { snapshotDir: flags['snapshot-dir'] } : {}),
    ...(flags['no-autosave'] ? { autosave: false } : {}),
  });
  // Handlers go in before the banner: whoever reads it may stop us right away, and the
  // snapshot is saved on close.
  const stop = (): void => {
    sandbox.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error('qbo-sandbox: error while closing', err);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);

  const { company, seeded } = setUpCompany(sandbox, flags, seed);
  const app = setUpApp(sandbox, appSpec);
  // Seeding fills the company directly, past the sandbox's change tracking.
  if (seeded) await sandbox.save();
  printBanner(sandbox, company, seeded, app);
}

function setUpCompany(
  sandbox: Sandbox,
  flags: Flags,
  seed: SeedOptions | undefined,
): { company: Company; seeded?: SeedResult } {
  const { state } = sandbox;
  const realmId = flags['realm-id'];
  const existing = realmId
    ? state.companies.get(realmId)
    : !flags['company-name'] && !seed
      ? state.companies.values().next().value
      : undefined;
  if (existing) {
    if (!seed) return { company: existing };
    // A snapshot already holds this company: seeding again would clash with its data.
    if (!isEmptyCompany(existing)) {
      console.error(`qbo-sandbox: realm ${existing.realmId} already has data; not seeding it`);
      return { company: existing };
    }
    return { company: existing, seeded: seedCompany(existing, seed) };
  }
  const company = sandbox.addCompany({
    ...(flags['company-name'] ? { companyName: flags['company-name'] } : {}),
    ...(realmId ? { realmId } : {}),
  });
  return seed ? { company, seeded: seedCompany(company, seed) } : { company };
}

function setUpApp(sandbox: Sandbox, spec: AppSpec): AppRecord {
  const { state } = sandbox;
  const clientId = spec.record.clientId;
  const known = clientId ? state.apps.get(clientId) : undefined;
  if (known) return known;
  if (!spec.given && state.apps.size > 0) return state.apps.values().next().value!;
  return sandbox.registerApp(spec.record);
}

function printBanner(
  sandbox: Sandbox,
  company: Company,
  seeded: SeedResult | undefined,
  app: AppRecord,
) {
  const { url } = sandbox;
  const redirect = app.redirectUris[0] ?? '';
  const consent = new URL('/connect/oauth2', url);
  consent.search = new URLSearchParams({
    client_id: app.clientId,
    response_type: 'code',
    scope: 'com.intuit.quickbooks.accounting openid profile email',
    redirect_uri: redirect,
    state: 'sandbox',
  }).toString();
  const total = Object.values(company.counts()).reduce((a, b) => a + b, 0);
  const lines: [string, string][] = [
    ['realm id', company.realmId],
    [
      'company',
      `${company.companyName} (${total.toLocaleString('en-US')} entities${
        seeded
          ? `, seeded in ${(seeded.ms / 1000).toFixed(1)} s from seed ${seeded.options.seed}`
          : ''
      })`,
    ],
    ['client id', app.clientId],
    ['client secret', app.clientSecret],
    ['redirect uri', redirect],
    ['verifier token', app.verifierToken],
    ...(app.webhookUrl
      ? ([['webhook url', `${app.webhookUrl} (${app.webhookFormat})`]] as [string, string][])
      : []),
    ['accounting api', `${url}/v3/company/${company.realmId}`],
    ['authorize', `${url}/connect/oauth2`],
    ['token', `${url}/oauth2/v1/tokens/bearer`],
    ['discovery', `${url}/.well-known/openid_sandbox_configuration`],
    ['consent url', consent.toString()],
    // The consent page sends the browser to the redirect URI with the code: by default
    // http://localhost:3000/callback, where nothing may be listening.
    [
      '',
      `after Connect, the browser goes to ${redirect}?code=…; give --redirect-uri <your app's callback> so that something answers there`,
    ],
    ['control api', `${url}/_sandbox`],
  ];
  const width = Math.max(...lines.map(([k]) => k.length));
  console.log(`qbo-sandbox listening on ${url}`);
  for (const [k, v] of lines) console.log(`  ${k.padEnd(width)}  ${v}`);
}

await main();
