// The HTTP contract of qbo-sync (/api/quickbooks and /api/admin), declared once: the API
// validates requests and checks its answers against these schemas, its tests parse every
// answer with them, and the admin frontend imports the same types. One file per
// capability. Field names are snake_case on the wire; times are ISO 8601 strings in UTC.
// Human-readable reference: docs/api.md.
export * from './common.ts';
export * from './errors.ts';
export * from './admin.ts';
export * from './connection.ts';
export * from './status.ts';
export * from './request-log.ts';
export * from './metrics.ts';
export * from './webhooks.ts';
export * from './sync.ts';
export * from './health.ts';
export * from './writeback.ts';
