-- Metered read calls (Intuit's CorePlus: reads, queries, CDC) per realm and UTC day, for the
-- rows the request-log retention has deleted. Intuit meters per calendar month while the log
-- keeps QBO_REQUEST_LOG_RETENTION_DAYS (30 by default, any value allowed): without this a
-- month's count would lose its first days on a 31-day month, or most of the month with a
-- short retention. Pruning adds the rows it deletes here in the same statement, so a call is
-- counted either in the log or here, never in both. How it is read: client/metering.ts.
create table qbo_api_usage_daily (
  day date not null,
  -- '' for calls made without a realm (none are metered today; kept so the key is total)
  realm_id text not null,
  coreplus_calls bigint not null default 0,
  primary key (day, realm_id)
);

alter table qbo_api_usage_daily enable row level security;
