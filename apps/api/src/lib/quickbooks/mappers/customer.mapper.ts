// Customer -> qbo_customers. Deactivated customers stay (Active false, name suffixed
// " (deleted)" by QBO: rec deactivate/*); sub-customers carry ParentRef (rec all/customers-2).
import { bool, money, ref, text } from './fields.ts';
import { defineMapper } from './mapper.ts';

export const customerMapper = defineMapper('Customer', {
  display_name: text('DisplayName'),
  fully_qualified_name: text('FullyQualifiedName'),
  given_name: text('GivenName'),
  family_name: text('FamilyName'),
  company_name: text('CompanyName'),
  email: text('PrimaryEmailAddr.Address'),
  phone: text('PrimaryPhone.FreeFormNumber'),
  parent_qbo_id: ref('ParentRef'),
  active: bool('Active', true),
  balance: money('Balance'),
  currency: ref('CurrencyRef'),
});
