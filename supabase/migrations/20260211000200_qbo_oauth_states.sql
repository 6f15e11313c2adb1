-- OAuth `state` values issued by GET /connect and consumed by GET /callback.
--
-- The state itself is signed (HMAC) and carries its expiry and a tag of the admin session,
-- so forged, expired or wrong-session values are refused without reading this table. The
-- table is what makes a state single-use: /callback marks the row consumed in one
-- conditional UPDATE, so a replayed callback (browser back button, a leaked URL, an
-- attacker racing the user) finds it already consumed. How it fits together:
-- docs/oauth-and-tokens.md.

create table qbo_oauth_states (
  -- sha256 of the state's random nonce (hex): the table never holds a usable state
  nonce_hash text primary key,
  -- sha256 of the admin session id (hex), for audit; the binding itself is in the signature
  session_hash text not null,
  expires_at timestamptz not null,
  consumed_at timestamptz,
  created_at timestamptz not null default now(),
  constraint qbo_oauth_states_nonce_hash_check check (nonce_hash ~ '^[0-9a-f]{64}$'),
  constraint qbo_oauth_states_session_hash_check check (session_hash ~ '^[0-9a-f]{64}$')
);

-- pruning of expired states (createOAuthState deletes them as it goes)
create index qbo_oauth_states_expires_idx on qbo_oauth_states (expires_at);

alter table qbo_oauth_states enable row level security;
