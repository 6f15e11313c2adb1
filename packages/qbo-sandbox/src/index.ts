import type { FastifyInstance } from 'fastify';
import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { defaultConfig, type DeepPartial, type SandboxConfig } from './config.ts';
import { SandboxState, type AppRecord } from './core/state.ts';
import type { Company } from './core/company.ts';
import { buildServer } from './server.ts';
import {
  loadSnapshot,
  saveSnapshot,
  setSnapshotLocations,
  type SnapshotSummary,
} from './core/snapshot.ts';
import { SnapshotWriter, setSnapshotWriter } from './core/autosave.ts';

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
export { seedCompany, type SeedResult } from './seed/generate.ts';
export { SEED_PRESETS, type SeedOptions, type SeedPreset } from './seed/options.ts';
export { saveSnapshot, loadSnapshot, type SnapshotSummary } from './core/snapshot.ts';

export interface StartSandboxOptions {
  /** Port to listen on; 0 picks a free one (default 4010). */
  port?: number;
  host?: string;
  /** Behaviour overrides (token lifetimes, limits, webhook timing…). */
  config?: DeepPartial<SandboxConfig>;
  /** Keep request/response bodies in the journal (default true). */
  journalBodies?: boolean;
  journalSize?: number;
  /**
   * Loaded at start when it exists, kept up to date as the state changes (see `autosave`)
   * and saved on close; the default file of `/_sandbox/snapshot`.
   */
  snapshotFile?: string;
  /**
   * The directory `/_sandbox/snapshot[/load]` may name files in (created, mode 0700, when
   * missing). Without it the control API reads and writes `snapshotFile` only.
   */
  snapshotDir?: string;
  /**
   * With `snapshotFile`: write it after every change — coalesced, and token changes before
   * the answer that hands them out — so a crash loses nothing (default true). `false`
   * writes it on close only.
   */
  autosave?: boolean;
}

/** A running sandbox: its URL, its state, and helpers for tests and `npm start`. */
export interface Sandbox {
  url: string;
  port: number;
  state: SandboxState;
  config: SandboxConfig;
  app: FastifyInstance;
  addCompany(opts?: { companyName?: string; realmId?: string; offsetMinutes?: number }): Company;
  /** Companies in the order they were created. */
  listCompanies(): Company[];
  registerApp(app: Partial<AppRecord> & { redirectUris: string[] }): AppRecord;
  /** The first registered app with this name. */
  findApp(name: string): AppRecord | undefined;
  /** Changes a registered app's settings; throws for an unknown `clientId`. */
  updateApp(clientId: string, patch: Partial<Omit<AppRecord, 'clientId'>>): AppRecord;
  /**
   * Writes `snapshotFile` now, e.g. after `seedCompany` or other changes made to the state
   * directly; null without a snapshot file.
   */
  save(): Promise<SnapshotSummary | null>;
  close(): Promise<void>;
}

/** How long changes are gathered into one snapshot write. */
const AUTOSAVE_DELAY_MS = 200;

/** Starts the sandbox's HTTP server. */
export async function startSandbox(opts: StartSandboxOptions = {}): Promise<Sandbox> {
  const config = defaultConfig(opts.config ?? {});
  const state = new SandboxState({
    baseUrl: config.baseUrl,
    journalSize: opts.journalSize ?? 5000,
    journalBodies: opts.journalBodies ?? true,
  });
  const snapshotFile = opts.snapshotFile === undefined ? undefined : resolve(opts.snapshotFile);
  const snapshotDir = opts.snapshotDir === undefined ? undefined : resolve(opts.snapshotDir);
  if (snapshotDir) mkdirSync(snapshotDir, { recursive: true, mode: 0o700 });
  setSnapshotLocations(state, {
    ...(snapshotFile ? { file: snapshotFile } : {}),
    ...(snapshotDir ? { dir: snapshotDir } : {}),
  });
  if (snapshotFile && existsSync(snapshotFile)) await loadSnapshot(state, snapshotFile);
  const writer =
    snapshotFile && opts.autosave !== false
      ? new SnapshotWriter(state, snapshotFile, {
          delayMs: AUTOSAVE_DELAY_MS,
          onError: (err) =>
            console.error(`[qbo-sandbox] could not save the snapshot ${snapshotFile}`, err),
        })
      : undefined;
  if (writer) setSnapshotWriter(state, writer);
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
  const changed = <T>(value: T): T => {
    writer?.changed();
    return value;
  };
  return {
    url,
    port,
    state,
    config,
    app,
    addCompany: (o = {}) =>
      changed(state.addCompany({ companyName: o.companyName ?? 'Sandbox Company_US_1', ...o })),
    listCompanies: () => [...state.companies.values()],
    registerApp: (a) => changed(state.registerApp(a)),
    findApp: (name) => [...state.apps.values()].find((a) => a.name === name),
    updateApp: (clientId, patch) => {
      const record = state.apps.get(clientId);
      if (!record) throw new Error(`no app with clientId ${clientId}`);
      const { clientId: _ignored, ...fields } = patch as Partial<AppRecord>;
      return changed(Object.assign(record, fields));
    },
    save: async () => {
      if (writer) return writer.save();
      return snapshotFile ? saveSnapshot(state, snapshotFile) : null;
    },
    close: async () => {
      state.ext.forEach((v) => (v as { close?: () => void }).close?.());
      try {
        await app.close();
      } finally {
        // After the server stopped taking requests, so the last change is in the file.
        if (writer) await writer.saveAndStop();
        else if (snapshotFile) await saveSnapshot(state, snapshotFile);
      }
    },
  };
}
