// Account -> qbo_accounts (rec deactivate/account-*, quickbooks-go account.json).
import { bool, money, ref, text } from './fields.ts';
import { defineMapper } from './mapper.ts';

export const accountMapper = defineMapper('Account', {
  name: text('Name'),
  fully_qualified_name: text('FullyQualifiedName'),
  account_type: text('AccountType'),
  account_sub_type: text('AccountSubType'),
  classification: text('Classification'),
  current_balance: money('CurrentBalance'),
  currency: ref('CurrencyRef'),
  active: bool('Active', true),
});
