/**
 * Scopes Intuit's authorize endpoint knows (intuit-oauth `OAuthClient.scopes`), with the wording
 * the consent page shows. OpenID scopes describe the user; every other scope needs a company.
 */
export const SCOPE_DESCRIPTIONS: Readonly<Record<string, string>> = {
  'com.intuit.quickbooks.accounting': 'QuickBooks Online accounting data: read and write',
  'com.intuit.quickbooks.payment': 'QuickBooks Payments: process payments',
  'payroll.compensation.read': 'Payroll compensation: read',
  'project-management.project': 'Projects: read and write',
  'app-foundations.custom-dimensions.read': 'Custom dimensions: read',
  'app-foundations.custom-field-definitions': 'Custom field definitions',
  'time-tracking.time-entry': 'Time entries',
  'indirect-tax.tax-calculation.quickbooks': 'Sales tax calculation',
  openid: 'Your Intuit account identity',
  profile: 'Your name',
  email: 'Your email address',
  phone: 'Your phone number',
  address: 'Your address',
};

export const OPENID_SCOPES: ReadonlySet<string> = new Set([
  'openid',
  'profile',
  'email',
  'phone',
  'address',
]);

/** Space-separated scope string → list; null when empty or when any scope is unknown. */
export function parseScopes(raw: string | undefined): string[] | null {
  const scopes = (raw ?? '').split(/\s+/).filter(Boolean);
  if (scopes.length === 0 || scopes.some((s) => !Object.hasOwn(SCOPE_DESCRIPTIONS, s))) return null;
  return [...new Set(scopes)];
}

/** A QuickBooks scope was asked for, so the user must pick a company (realmId). */
export const needsCompany = (scopes: string[]): boolean =>
  scopes.some((s) => !OPENID_SCOPES.has(s));
