import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  entityFromName,
  type CompanyCounters,
  type EntityName,
  type StoredRow,
} from './company.ts';
import type {
  AccessTokenRecord,
  AppRecord,
  AuthCodeRecord,
  RefreshTokenRecord,
  SandboxState,
} from './state.ts';

/**
 * Snapshots are JSON Lines: a header, then one record per line (company, row, tombstone,
 * app, token, code), then an end marker with the line count. One line per entity lets
 * 100,000 entities stream both ways without one giant string (V8 caps strings at ~512 MB),
 * and a truncated file is detected by the missing end marker.
 */
export const SNAPSHOT_FORMAT = 'qbo-sandbox-snapshot';
export const SNAPSHOT_VERSION = 1;

export interface SnapshotSummary {
  file: string;
  bytes: number;
  companies: number;
  entities: number;
  ms: number;
}

/** A file that is not a snapshot, is truncated, or has a bad line. */
export class SnapshotError extends Error {}

interface Header {
  format: string;
  version: number;
  savedAt: string;
  clockOffsetMs: number;
}

interface CompanyRecord {
  kind: 'company';
  realmId: string;
  companyName: string;
  offsetMinutes: number;
  country: string;
  createdAt: number;
  counters: CompanyCounters;
}

type SnapshotLine =
  | CompanyRecord
  | {
      kind: 'row';
      realmId: string;
      entity: EntityName;
      createdAt: number;
      updatedAt: number;
      data: StoredRow['data'];
    }
  | { kind: 'tombstone'; realmId: string; entity: EntityName; id: string; deletedAt: number }
  | ({ kind: 'app' } & AppRecord)
  | ({ kind: 'accessToken' } & AccessTokenRecord)
  | ({ kind: 'refreshToken' } & RefreshTokenRecord)
  | ({ kind: 'authCode' } & AuthCodeRecord)
  | { kind: 'end'; lines: number };

const CHUNK = 1 << 20;

let tmpSeq = 0;

/**
 * Writes all state except the journal and per-module runtime state (webhook queues,
 * limiter windows, injected faults): companies with tables, tombstones and counters,
 * apps, tokens, authorization codes and the clock offset.
 *
 * Atomic and private: written to a new temporary file beside it (mode 0600: a snapshot
 * holds tokens and app secrets), flushed to disk, then renamed over the real name and the
 * directory flushed, so a crash or power cut leaves either the old snapshot or the new
 * one, never half of one. Each save has its own temporary name, so two saves of one file
 * never write into each other.
 */
export async function saveSnapshot(state: SandboxState, file: string): Promise<SnapshotSummary> {
  const started = performance.now();
  const dir = dirname(file);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.${++tmpSeq}.tmp`;
  // 'wx': never follows or reuses something already at the temporary name.
  const handle = await open(tmp, 'wx', 0o600);
  let buffer = '';
  let bytes = 0;
  let lines = 0;
  let entities = 0;
  const append = async (line: string): Promise<void> => {
    buffer += line;
    lines += 1;
    if (buffer.length >= CHUNK) await flush();
  };
  const write = (record: unknown): Promise<void> => append(`${JSON.stringify(record)}\n`);
  const flush = async (): Promise<void> => {
    const chunk = Buffer.from(buffer);
    buffer = '';
    bytes += chunk.length;
    await handle.write(chunk);
  };
  try {
    const header: Header = {
      format: SNAPSHOT_FORMAT,
      version: SNAPSHOT_VERSION,
      savedAt: new Date().toISOString(),
      clockOffsetMs: state.clock.now() - Date.now(),
    };
    await write(header);
    for (const c of state.companies.values()) {
      await write({
        kind: 'company',
        realmId: c.realmId,
        companyName: c.companyName,
        offsetMinutes: c.offsetMinutes,
        country: c.country,
        createdAt: c.createdAt,
        counters: c.exportCounters(),
      } satisfies CompanyRecord);
      for (const [entity, table] of c.tables) {
        // Rows are most of the file: written by hand, the same JSON as
        // `{kind:'row', realmId, entity, createdAt, updatedAt, data}` without a copy per row.
        const head = `{"kind":"row","realmId":${JSON.stringify(c.realmId)},"entity":"${entity}","createdAt":`;
        for (const row of table.values()) {
          entities += 1;
          const line = `${head}${row.createdAt},"updatedAt":${row.updatedAt},"data":${JSON.stringify(row.data)}}\n`;
          if (buffer.length + line.length < CHUNK) {
            buffer += line;
            lines += 1;
          } else await append(line);
        }
      }
      for (const [entity, tombs] of c.tombstones) {
        for (const t of tombs.values())
          await write({ kind: 'tombstone', realmId: c.realmId, entity, ...t });
      }
    }
    for (const a of state.apps.values()) await write({ kind: 'app', ...a });
    for (const t of state.accessTokens.values()) await write({ kind: 'accessToken', ...t });
    for (const t of state.refreshTokens.values()) await write({ kind: 'refreshToken', ...t });
    for (const t of state.authCodes.values()) await write({ kind: 'authCode', ...t });
    await write({ kind: 'end', lines: lines + 1 });
    await flush();
    await handle.sync();
    await handle.close();
    await rename(tmp, file);
    await syncDir(dir);
  } catch (err) {
    await handle.close().catch(() => {});
    await rm(tmp, { force: true });
    throw err;
  }
  return {
    file,
    bytes,
    companies: state.companies.size,
    entities,
    ms: Math.round(performance.now() - started),
  };
}

interface Staged {
  header?: Header;
  companies: Map<string, { record: CompanyRecord; rows: SnapshotLine[] }>;
  apps: AppRecord[];
  accessTokens: AccessTokenRecord[];
  refreshTokens: RefreshTokenRecord[];
  authCodes: AuthCodeRecord[];
  ended: boolean;
}

/**
 * Replaces the state's companies, apps, tokens, codes and clock offset with a snapshot's.
 * The whole file is read and checked before anything is replaced, so a bad file leaves
 * the running sandbox as it was.
 */
export async function loadSnapshot(state: SandboxState, file: string): Promise<SnapshotSummary> {
  const started = performance.now();
  const { size } = await stat(file);
  const staged: Staged = {
    companies: new Map(),
    apps: [],
    accessTokens: [],
    refreshTokens: [],
    authCodes: [],
    ended: false,
  };
  let n = 0;
  let entities = 0;
  for await (const raw of readLines(file)) {
    n += 1;
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (text === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new SnapshotError(`${file}:${n}: not JSON`);
    }
    if (n === 1) {
      const h = value as Header;
      if (h?.format !== SNAPSHOT_FORMAT)
        throw new SnapshotError(`${file} is not a qbo-sandbox snapshot`);
      if (h.version !== SNAPSHOT_VERSION) {
        throw new SnapshotError(
          `${file}: snapshot version ${h.version} is not supported (expected ${SNAPSHOT_VERSION})`,
        );
      }
      staged.header = h;
      continue;
    }
    if (staged.ended) throw new SnapshotError(`${file}:${n}: data after the end marker`);
    const line = value as SnapshotLine;
    switch (line?.kind) {
      case 'company':
        staged.companies.set(line.realmId, { record: line, rows: [] });
        break;
      case 'row':
      case 'tombstone': {
        const c = staged.companies.get(line.realmId);
        const entity = entityFromName(String(line.entity));
        if (!c || !entity) {
          throw new SnapshotError(`${file}:${n}: ${line.kind} for an unknown company or entity`);
        }
        line.entity = entity;
        if (line.kind === 'row') entities += 1;
        c.rows.push(line);
        break;
      }
      case 'app':
        staged.apps.push(strip(line));
        break;
      case 'accessToken':
        staged.accessTokens.push(strip(line));
        break;
      case 'refreshToken':
        staged.refreshTokens.push(strip(line));
        break;
      case 'authCode':
        staged.authCodes.push(strip(line));
        break;
      case 'end':
        if (line.lines !== n)
          throw new SnapshotError(`${file}: expected ${line.lines} lines, read ${n}`);
        staged.ended = true;
        break;
      default:
        throw new SnapshotError(`${file}:${n}: unknown record`);
    }
  }
  if (!staged.header) throw new SnapshotError(`${file} is empty`);
  if (!staged.ended) throw new SnapshotError(`${file} is truncated (no end marker)`);

  state.companies.clear();
  state.apps.clear();
  state.accessTokens.clear();
  state.refreshTokens.clear();
  state.authCodes.clear();
  for (const { record, rows } of staged.companies.values()) {
    const company = state.addCompany({
      realmId: record.realmId,
      companyName: record.companyName,
      offsetMinutes: record.offsetMinutes,
      country: record.country,
      createdAt: record.createdAt,
    });
    for (const line of rows) {
      if (line.kind === 'row') {
        const { data, createdAt, updatedAt } = line;
        company.table(line.entity).set(data.Id, { data, createdAt, updatedAt });
      } else if (line.kind === 'tombstone') {
        company.tombstones
          .get(line.entity)!
          .set(line.id, { id: line.id, deletedAt: line.deletedAt });
      }
    }
    company.importCounters(record.counters);
  }
  for (const a of staged.apps) state.apps.set(a.clientId, a);
  for (const t of staged.accessTokens) state.accessTokens.set(t.token, t);
  for (const t of staged.refreshTokens) state.refreshTokens.set(t.token, t);
  for (const c of staged.authCodes) state.authCodes.set(c.code, c);
  state.clock.set(Date.now() + staged.header.clockOffsetMs);
  return {
    file,
    bytes: size,
    companies: staged.companies.size,
    entities,
    ms: Math.round(performance.now() - started),
  };
}

function strip<T extends { kind: string }>(line: T): Omit<T, 'kind'> {
  const { kind: _kind, ...rest } = line;
  return rest;
}

/** The rename is durable only once the directory entry is on disk too. */
async function syncDir(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Some platforms (Windows) cannot open or flush a directory; the rename still happened.
  } finally {
    await handle?.close().catch(() => {});
  }
}

/** Where `/_sandbox/snapshot[/load]` may write and read (see `startSandbox`). */
export interface SnapshotLocations {
  /** `startSandbox({ snapshotFile })`: used when a request names no file. */
  file?: string;
  /** `startSandbox({ snapshotDir })`: requests may name any file inside it. */
  dir?: string;
}

const EXT_KEY = 'snapshot';

export function setSnapshotLocations(state: SandboxState, locations: SnapshotLocations): void {
  state.ext.set(EXT_KEY, locations);
}

export function snapshotLocations(state: SandboxState): SnapshotLocations {
  return (state.ext.get(EXT_KEY) as SnapshotLocations | undefined) ?? {};
}

/**
 * Lines of a file, read in large chunks (node:readline is several times slower on a
 * 100 MB file of long lines). A last line without a newline is yielded too.
 */
async function* readLines(file: string): AsyncGenerator<string> {
  let rest = '';
  for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 4 << 20 })) {
    const text = rest + (chunk as string);
    let start = 0;
    let nl = text.indexOf('\n', start);
    while (nl !== -1) {
      yield text.slice(start, nl);
      start = nl + 1;
      nl = text.indexOf('\n', start);
    }
    rest = text.slice(start);
  }
  if (rest !== '') yield rest;
}
