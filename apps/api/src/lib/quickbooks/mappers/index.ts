// One mapper per mirrored entity, by QBO entity name.
import type { QboEntityType } from '../../../db/schema.ts';
import { accountMapper } from './account.mapper.ts';
import { customerMapper } from './customer.mapper.ts';
import { invoiceMapper } from './invoice.mapper.ts';
import { itemMapper } from './item.mapper.ts';
import type { EntityMapper } from './mapper.ts';
import { paymentMapper } from './payment.mapper.ts';
import { vendorMapper } from './vendor.mapper.ts';

export type { EntityMapper, MirrorBaseRow, MirrorRow } from './mapper.ts';

export const MAPPERS: Readonly<Record<QboEntityType, EntityMapper>> = Object.freeze({
  Customer: customerMapper,
  Invoice: invoiceMapper,
  Payment: paymentMapper,
  Vendor: vendorMapper,
  Item: itemMapper,
  Account: accountMapper,
});
