import type { FastifyInstance } from 'fastify';
import { defaultConfig, type DeepPartial, type SandboxConfig } from './config.ts';
import { SandboxState, type AppRecord } from './core/state.ts';
import type { Company } from './core/company.ts';
import { buildServer } from './server.ts';

export { defaultConfig } from './config.ts';
export type { SandboxConfig, DeepPartial } from './config.ts';
export { SandboxState } from './core/state.ts';
export type {
  AppRecord,
  AccessTokenRecord,
  RefreshTokenRecord,
  JournalEntry,
} from './core/state.ts';
export type { Company, QboObject, EntityName, ChangeEvent } from './core/company.ts';
export { QboFault, Faults } from './core/faults.ts';

export interface StartSandboxOptions {
  /** Port to listen on; 0 picks a free one (default 4010). */
  port?: number;
  host?: string;
  /** Behaviour overrides (token lifetimes, limits, webhook timing…). */
  config?: DeepPartial<SandboxConfig>;
  /** Keep request/response bodies in the journal (default true). */
  journalBodies?: boolean;
  journalSize?: number;
}

/** A running sandbox: its URL, its state, and helpers for tests and `npm start`. */
export interface Sandbox {
  url: string;
  port: number;
  state: SandboxState;
  config: SandboxConfig;
  app: FastifyInstance;
  addCompany(opts?: { companyName?: string; realmId?: string; offsetMinutes?: number }): Company;
  registerApp(app: Partial<AppRecord> & { redirectUris: string[] }): AppRecord;
  close(): Promise<void>;
}

/** Starts the sandbox's HTTP server. */
export async function startSandbox(opts: StartSandboxOptions = {}): Promise<Sandbox> {
  const config = defaultConfig(opts.config ?? {});
  const state = new SandboxState({
    baseUrl: config.baseUrl,
    journalSize: opts.journalSize ?? 5000,
    journalBodies: opts.journalBodies ?? true,
  });
  const app = await buildServer(state, config);
  const host = opts.host ?? '127.0.0.1';
  await app.listen({ port: opts.port ?? 4010, host });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : (opts.port ?? 4010);
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  // The public URL is only known once listening; discovery documents and id_token `iss`
  // checks read it from the config.
  if (!opts.config?.baseUrl) config.baseUrl = url;
  state.options.baseUrl = config.baseUrl;
  return {
    url,
    port,
    state,
    config,
    app,
    addCompany: (o = {}) =>
      state.addCompany({ companyName: o.companyName ?? 'Sandbox Company_US_1', ...o }),
    registerApp: (a) => state.registerApp(a),
    close: async () => {
      state.ext.forEach((v) => (v as { close?: () => void }).close?.());
      await app.close();
    },
  };
}
