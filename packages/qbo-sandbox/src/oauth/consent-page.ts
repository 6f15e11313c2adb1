import type { Company } from '../core/company.ts';
import { SCOPE_DESCRIPTIONS } from './scopes.ts';

const escapeHtml = (s: string): string =>
  s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');

const STYLE = `body{font-family:system-ui,sans-serif;background:#f4f5f8;margin:0;color:#1f2937}
main{max-width:32rem;margin:3rem auto;background:#fff;border-radius:8px;padding:2rem;box-shadow:0 1px 4px #0002}
h1{font-size:1.3rem;margin-top:0}ul{padding-left:1.2rem}fieldset{border:1px solid #d1d5db;border-radius:6px}
label{display:block;padding:.3rem 0}.actions{display:flex;gap:1rem;margin-top:1.5rem}
button{padding:.6rem 1.4rem;border-radius:4px;border:1px solid #2ca01c;font-size:1rem;cursor:pointer}
button[value=connect]{background:#2ca01c;color:#fff}button[value=cancel]{background:#fff;color:#2ca01c}
.error{color:#b91c1c}.note{color:#6b7280;font-size:.85rem}`;

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body><main>
${body}
<p class="note">qbo-sandbox: an offline stand-in for Intuit's sign-in and consent. No password is asked.</p>
</main></body>
</html>`;
}

export interface ConsentPageInput {
  appName: string;
  userEmail: string;
  /** The authorize request's parameters, echoed back as hidden fields. */
  params: {
    client_id: string;
    redirect_uri: string;
    response_type: string;
    scope: string;
    state?: string;
  };
  scopes: string[];
  /** Companies to pick from; null when only OpenID scopes were asked for. */
  companies: Company[] | null;
  selectedRealmId?: string;
  error?: string;
}

/**
 * The consent page: one form that POSTs back to /connect/oauth2 with the request's parameters
 * as hidden fields, a company picker and the Connect / Cancel buttons (named `action`).
 */
export function renderConsentPage(input: ConsentPageInput): string {
  const hidden = Object.entries(input.params)
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
    .join('\n');
  const scopes = input.scopes
    .map((s) => `<li>${escapeHtml(SCOPE_DESCRIPTIONS[s] ?? s)} <code>${escapeHtml(s)}</code></li>`)
    .join('\n');
  let picker = '';
  let canConnect = true;
  if (input.companies && input.companies.length === 0) {
    canConnect = false;
    picker = `<p class="error">This sandbox has no company yet, so there is nothing to connect to.
Create one through the sandbox control API, then reload this page.</p>`;
  } else if (input.companies) {
    const selected =
      input.companies.find((c) => c.realmId === input.selectedRealmId)?.realmId ??
      input.companies[0]!.realmId;
    const options = input.companies
      .map(
        (c) =>
          `<label><input type="radio" name="realmId" value="${escapeHtml(c.realmId)}"${
            c.realmId === selected ? ' checked' : ''
          } required> ${escapeHtml(c.companyName)} <span class="note">(realm ${escapeHtml(c.realmId)})</span></label>`,
      )
      .join('\n');
    picker = `<fieldset><legend>Company</legend>\n${options}\n</fieldset>`;
  }
  const error = input.error ? `<p class="error" role="alert">${escapeHtml(input.error)}</p>` : '';
  return layout(
    `Connect ${input.appName}`,
    `<h1>${escapeHtml(input.appName)} wants to connect</h1>
<p>Signed in as <strong>${escapeHtml(input.userEmail)}</strong>. The app asks for:</p>
<ul>
${scopes}
</ul>
${error}
<form method="post" action="/connect/oauth2">
${hidden}
${picker}
<div class="actions">
<button type="submit" name="action" value="connect"${canConnect ? '' : ' disabled'}>Connect</button>
<button type="submit" name="action" value="cancel" formnovalidate>Cancel</button>
</div>
</form>`,
  );
}

/**
 * RFC 6749 §4.1.2.1: with an unknown client or an unregistered redirect_uri the server must
 * tell the user and must not redirect.
 */
export function renderErrorPage(title: string, detail: string): string {
  return layout(
    title,
    `<h1>${escapeHtml(title)}</h1>\n<p class="error" role="alert">${escapeHtml(detail)}</p>`,
  );
}
