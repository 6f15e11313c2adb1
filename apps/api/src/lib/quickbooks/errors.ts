// The base of every error the QuickBooks domain throws on purpose: a failure it expects and
// can explain to its caller (Intuit refused a grant, QBO throttled us, a lock stayed busy…).
// `kind` is a stable name for what happened, so the HTTP layer maps errors with one table
// (http/errors.ts) instead of a chain of instanceof tests, and a new error cannot be added
// without deciding how it is answered. Anything else thrown is a bug: a 500.
//
//   kind               class                     where
//   oauth_grant        OAuthGrantError           connection/oauth.ts   invalid_grant: reconnect
//   oauth_transient    OAuthTransientError       connection/oauth.ts   Intuit down or unreadable
//   oauth_client       OAuthClientError          connection/oauth.ts   app credentials refused
//   reauth_required    ReauthRequiredError       connection/token-store.ts
//   realm_not_found    RealmNotFoundError        connection/connection.service.ts
//   not_connected      NotConnectedError         connection/connection.service.ts
//   qbo_error          QboError                  client/errors.ts      an unusable answer
//   qbo_fault          QboFault                  client/errors.ts      a fault envelope
//   qbo_throttled      QboThrottledError         client/errors.ts      429 / 3001
//   qbo_auth           QboAuthError              client/errors.ts      401 / 403
//   qbo_network        QboNetworkError           client/errors.ts      no (complete) answer
//   lock_timeout       LockTimeoutError          ports.ts
//   invalid_cursor     InvalidCursorError        keyset-cursor.ts
export type QuickBooksErrorKind =
  | 'oauth_grant'
  | 'oauth_transient'
  | 'oauth_client'
  | 'reauth_required'
  | 'realm_not_found'
  | 'not_connected'
  | 'qbo_error'
  | 'qbo_fault'
  | 'qbo_throttled'
  | 'qbo_auth'
  | 'qbo_network'
  | 'lock_timeout'
  | 'invalid_cursor';

export abstract class QuickBooksError extends Error {
  abstract readonly kind: QuickBooksErrorKind;
}
