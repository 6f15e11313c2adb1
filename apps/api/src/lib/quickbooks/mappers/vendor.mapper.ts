// Vendor -> qbo_vendors (rec all/vendors_by_5-*, get/inactive_vendors).
import { bool, money, ref, text } from './fields.ts';
import { defineMapper } from './mapper.ts';

export const vendorMapper = defineMapper('Vendor', {
  display_name: text('DisplayName'),
  company_name: text('CompanyName'),
  email: text('PrimaryEmailAddr.Address'),
  phone: text('PrimaryPhone.FreeFormNumber'),
  active: bool('Active', true),
  balance: money('Balance'),
  currency: ref('CurrencyRef'),
});
