import type { EntityName } from '../../core/company.ts';
import { billSpec } from './bill.ts';
import { companyInfoSpec, preferencesSpec } from './company-info.ts';
import { invoiceSpec } from './invoice.ts';
import { accountSpec, itemSpec, paymentMethodSpec, taxCodeSpec, termSpec } from './lists.ts';
import { paymentSpec } from './payment.ts';
import { customerSpec, employeeSpec, vendorSpec } from './people.ts';
import type { EntitySpec } from './types.ts';

/** Every entity the sandbox serves, by its QBO name. */
export const SPECS: Record<EntityName, EntitySpec> = {
  Customer: customerSpec,
  Vendor: vendorSpec,
  Employee: employeeSpec,
  Item: itemSpec,
  Account: accountSpec,
  Term: termSpec,
  TaxCode: taxCodeSpec,
  PaymentMethod: paymentMethodSpec,
  Invoice: invoiceSpec,
  Payment: paymentSpec,
  Bill: billSpec,
  CompanyInfo: companyInfoSpec,
  Preferences: preferencesSpec,
};
