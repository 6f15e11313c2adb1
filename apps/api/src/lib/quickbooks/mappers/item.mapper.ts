// Item -> qbo_items. UnitPrice keeps every decimal QBO sent (the column is unscaled numeric).
import { bool, money, ref, text } from './fields.ts';
import { defineMapper } from './mapper.ts';

export const itemMapper = defineMapper('Item', {
  name: text('Name'),
  fully_qualified_name: text('FullyQualifiedName'),
  type: text('Type'),
  unit_price: money('UnitPrice'),
  income_account_qbo_id: ref('IncomeAccountRef'),
  active: bool('Active', true),
});
