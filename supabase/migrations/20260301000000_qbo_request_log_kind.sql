-- qbo_request_log.kind: what a row is, in a column of its own. Until now a token-endpoint
-- row carried its grant type as a pseudo-query on `path`
-- (/oauth2/v1/tokens/bearer?grant_type=refresh_token — the real request sends it in the
-- form body), and /status and /metrics told Accounting API calls from OAuth calls with
-- `path LIKE '%oauth2%'`. How the log is used: docs/qbo-api-client.md#request-log.
--
--   accounting             a call to the QBO Accounting API (/v3/company/…)
--   oauth_token_exchange   the authorization code exchanged for the first tokens (/callback)
--   oauth_token_refresh    a refresh token used for a new pair
--   oauth_revoke           a grant revoked at Intuit (disconnect)

alter table qbo_request_log add column kind text;

-- Existing rows, from the old path convention. Only the token store called the token
-- endpoint without the code-exchange suffix, and it only refreshes there.
update qbo_request_log
  set kind = case
    when path like '%/tokens/revoke%' then 'oauth_revoke'
    when path like '%?grant_type=authorization_code' then 'oauth_token_exchange'
    when path like '%oauth2%' then 'oauth_token_refresh'
    else 'accounting'
  end;

-- The grant type now lives in `kind`: paths become the paths that were called.
update qbo_request_log
  set path = regexp_replace(path, '\?grant_type=(refresh_token|authorization_code)$', '')
  where path ~ '\?grant_type=(refresh_token|authorization_code)$';

alter table qbo_request_log
  alter column kind set not null,
  add constraint qbo_request_log_kind_check
    check (kind in ('accounting', 'oauth_token_exchange', 'oauth_token_refresh', 'oauth_revoke'));

-- /metrics counts one realm's token refreshes over the last day. OAuth rows are a sliver of
-- the log, hence a partial index; Accounting API counts (/metrics, /status) use
-- (realm_id, created_at desc) and filter `kind` on rows that nearly all match.
create index qbo_request_log_oauth_idx
  on qbo_request_log (realm_id, kind, created_at)
  where kind <> 'accounting';
