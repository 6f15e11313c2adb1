import { parse } from 'node-html-parser';

/** A consent page as a browser sees it: its status, HTML and the one form in it. */
export interface ConsentPage {
  status: number;
  html: string;
  /** Absolute URL the form posts to. */
  action: string;
  /** Successful controls without the submit buttons: hidden fields and the checked radio. */
  fields: [string, string][];
  companies: { realmId: string; label: string; checked: boolean }[];
  buttons: { name: string; value: string; text: string; disabled: boolean }[];
}

export async function openConsentPage(url: string): Promise<ConsentPage> {
  const res = await fetch(url, { redirect: 'manual' });
  const html = await res.text();
  const root = parse(html);
  const form = root.querySelector('form');
  if (!form) throw new Error(`no form on the page (status ${res.status}): ${html.slice(0, 300)}`);
  const fields: [string, string][] = [];
  const companies: ConsentPage['companies'] = [];
  for (const input of form.querySelectorAll('input')) {
    const name = input.getAttribute('name');
    if (!name) continue;
    const type = (input.getAttribute('type') ?? 'text').toLowerCase();
    const value = input.getAttribute('value') ?? '';
    if (type === 'radio') {
      const checked = input.hasAttribute('checked');
      companies.push({ realmId: value, label: input.parentNode?.text.trim() ?? '', checked });
      if (checked) fields.push([name, value]);
    } else {
      fields.push([name, value]);
    }
  }
  const buttons = form.querySelectorAll('button').map((b) => ({
    name: b.getAttribute('name') ?? '',
    value: b.getAttribute('value') ?? '',
    text: b.text.trim(),
    disabled: b.hasAttribute('disabled'),
  }));
  return {
    status: res.status,
    html,
    action: new URL(form.getAttribute('action') ?? '', url).toString(),
    fields,
    companies,
    buttons,
  };
}

/**
 * Clicks a button as a browser would: the form's successful controls plus the clicked
 * button's name=value, form-encoded. `realmId` picks another company's radio first.
 */
export async function clickButton(
  page: ConsentPage,
  buttonText: 'Connect' | 'Cancel',
  opts: { realmId?: string } = {},
): Promise<Response> {
  const button = page.buttons.find((b) => b.text === buttonText);
  if (!button) throw new Error(`no ${buttonText} button`);
  if (button.disabled) throw new Error(`${buttonText} is disabled`);
  const fields = page.fields.filter(([k]) => !(opts.realmId && k === 'realmId'));
  if (opts.realmId) fields.push(['realmId', opts.realmId]);
  fields.push([button.name, button.value]);
  return fetch(page.action, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
}

/** Opens the authorize URL, clicks a button and returns the redirect's Location. */
export async function authorizeInBrowser(
  authorizeUrl: string,
  buttonText: 'Connect' | 'Cancel' = 'Connect',
  opts: { realmId?: string } = {},
): Promise<string> {
  const page = await openConsentPage(authorizeUrl);
  const res = await clickButton(page, buttonText, opts);
  const location = res.headers.get('location');
  if (res.status !== 302 || !location)
    throw new Error(`expected a redirect, got ${res.status}: ${(await res.text()).slice(0, 300)}`);
  return location;
}
