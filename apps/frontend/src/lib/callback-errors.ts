// What each way back from the consent page means to the person who clicked Connect.
import { CALLBACK_ERROR_CODES, type CallbackErrorCode } from '@qbo-sync/contract';

export const CALLBACK_ERROR_MESSAGES: Record<CallbackErrorCode, string> = {
  access_denied: 'You cancelled on the QuickBooks consent page. Nothing was connected.',
  authorization_failed:
    'QuickBooks did not authorise the connection. Try again; if it keeps failing, check the app’s settings on developer.intuit.com.',
  invalid_callback:
    'QuickBooks sent this service an incomplete answer. Start again with Connect QuickBooks.',
  state_missing:
    'The answer from QuickBooks had no sign of where it started. Start again with Connect QuickBooks.',
  state_forged:
    'The answer from QuickBooks was not for a connection started here, so it was refused. Start again with Connect QuickBooks.',
  state_expired:
    'The consent page was open for more than 10 minutes. Start again with Connect QuickBooks.',
  state_replayed:
    'That consent answer was already used (the back button, or a reloaded page). Start again with Connect QuickBooks.',
  state_wrong_session:
    'The connection was started in another browser or session. Start it from this page, in this browser.',
  token_exchange_failed:
    'QuickBooks refused to issue tokens (the code expired, or the app’s keys are wrong), or could not be reached. Try again.',
  realm_not_verified:
    'QuickBooks did not accept the new connection for the company named in its answer (the answer was changed on the way, or the company does not exist). Nothing was stored and existing connections were kept. Start again with Connect QuickBooks.',
  company_check_failed:
    'QuickBooks could not be asked to confirm the company just now. Nothing was stored and existing connections were kept. Try again in a minute.',
  internal_error: 'The connection could not be stored. The service log has the details; try again.',
};

export function callbackErrorMessage(code: string): string {
  return (CALLBACK_ERROR_CODES as readonly string[]).includes(code)
    ? CALLBACK_ERROR_MESSAGES[code as CallbackErrorCode]
    : `Connecting failed (${code}). Start again with Connect QuickBooks.`;
}
