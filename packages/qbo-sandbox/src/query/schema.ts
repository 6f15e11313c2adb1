import type { EntityName } from '../core/company.ts';

/**
 * Top-level properties of each entity (QBO API reference, minor version 75). A query that
 * names anything else is rejected with 4001 "Property X not found for Entity Y", as QBO
 * does. Properties present on stored objects are accepted too, so objects seeded with
 * fields missing here never make a valid query fail.
 */
const COMMON = ['Id', 'SyncToken', 'MetaData', 'domain', 'sparse'];
const PERSON = ['Title', 'GivenName', 'MiddleName', 'FamilyName', 'Suffix', 'DisplayName'];
const CONTACT = ['PrimaryPhone', 'AlternatePhone', 'Mobile', 'Fax', 'PrimaryEmailAddr', 'WebAddr'];
const TXN = [
  'DocNumber',
  'TxnDate',
  'PrivateNote',
  'LinkedTxn',
  'Line',
  'TxnTaxDetail',
  'CurrencyRef',
  'ExchangeRate',
  'TotalAmt',
  'CustomField',
  'DepartmentRef',
  'TransactionLocationType',
  'TxnSource',
  'ProjectRef',
  'GlobalTaxCalculation',
  'HomeTotalAmt',
];

const PROPERTIES: Partial<Record<EntityName, string[]>> = {
  Customer: [
    ...PERSON,
    ...CONTACT,
    'FullyQualifiedName',
    'CompanyName',
    'PrintOnCheckName',
    'Active',
    'DefaultTaxCodeRef',
    'Taxable',
    'BillAddr',
    'ShipAddr',
    'OtherAddr',
    'Notes',
    'Job',
    'BillWithParent',
    'ParentRef',
    'Level',
    'SalesTermRef',
    'PaymentMethodRef',
    'Balance',
    'OpenBalanceDate',
    'BalanceWithJobs',
    'CurrencyRef',
    'PreferredDeliveryMethod',
    'ResaleNum',
    'TaxExemptionReasonId',
    'ARAccountRef',
    'CustomerTypeRef',
    'PrimaryTaxIdentifier',
    'SecondaryTaxIdentifier',
    'GSTIN',
    'GSTRegistrationType',
    'BusinessNumber',
    'IsProject',
    'ClientEntityId',
    'Source',
    'V4IDPseudonym',
  ],
  Vendor: [
    ...PERSON,
    ...CONTACT,
    'CompanyName',
    'PrintOnCheckName',
    'Active',
    'BillAddr',
    'OtherContactInfo',
    'TaxIdentifier',
    'TermRef',
    'Balance',
    'AcctNum',
    'Vendor1099',
    'CurrencyRef',
    'APAccountRef',
    'BillRate',
    'CostRate',
    'VendorPaymentBankDetail',
    'TaxReportingBasis',
    'GSTIN',
    'GSTRegistrationType',
    'BusinessNumber',
    'HasTPAR',
    'T4AEligible',
    'T5018Eligible',
    'Source',
    'V4IDPseudonym',
  ],
  Employee: [
    ...PERSON,
    ...CONTACT,
    'PrintOnCheckName',
    'Active',
    'PrimaryAddr',
    'EmployeeNumber',
    'SSN',
    'BillableTime',
    'BillRate',
    'CostRate',
    'BirthDate',
    'Gender',
    'HiredDate',
    'ReleasedDate',
    'Organization',
    'V4IDPseudonym',
  ],
  Item: [
    'Name',
    'Sku',
    'Description',
    'Active',
    'SubItem',
    'ParentRef',
    'Level',
    'FullyQualifiedName',
    'Taxable',
    'SalesTaxIncluded',
    'UnitPrice',
    'Type',
    'IncomeAccountRef',
    'PurchaseDesc',
    'PurchaseTaxIncluded',
    'PurchaseCost',
    'ExpenseAccountRef',
    'AssetAccountRef',
    'TrackQtyOnHand',
    'QtyOnHand',
    'InvStartDate',
    'SalesTaxCodeRef',
    'PurchaseTaxCodeRef',
    'PrefVendorRef',
    'ClassRef',
    'ReorderPoint',
    'AbatementRate',
    'ReverseChargeRate',
    'ServiceType',
    'ItemCategoryType',
    'TaxClassificationRef',
    'ItemGroupDetail',
    'Source',
  ],
  Account: [
    'Name',
    'SubAccount',
    'ParentRef',
    'Description',
    'FullyQualifiedName',
    'Active',
    'Classification',
    'AccountType',
    'AccountSubType',
    'AcctNum',
    'CurrentBalance',
    'CurrentBalanceWithSubAccounts',
    'CurrencyRef',
    'TaxCodeRef',
    'AccountAlias',
    'TxnLocationType',
  ],
  Term: [
    'Name',
    'Active',
    'Type',
    'DiscountPercent',
    'DueDays',
    'DiscountDays',
    'DayOfMonthDue',
    'DueNextMonthDays',
    'DiscountDayOfMonth',
  ],
  TaxCode: [
    'Name',
    'Description',
    'Active',
    'Hidden',
    'Taxable',
    'TaxGroup',
    'SalesTaxRateList',
    'PurchaseTaxRateList',
    'TaxCodeConfigType',
  ],
  PaymentMethod: ['Name', 'Active', 'Type'],
  Invoice: [
    ...TXN,
    'CustomerRef',
    'CustomerMemo',
    'BillAddr',
    'ShipAddr',
    'FreeFormAddress',
    'ShipFromAddr',
    'SalesTermRef',
    'DueDate',
    'ApplyTaxAfterDiscount',
    'PrintStatus',
    'EmailStatus',
    'BillEmail',
    'BillEmailCc',
    'BillEmailBcc',
    'Balance',
    'HomeBalance',
    'Deposit',
    'DepositToAccountRef',
    'AllowIPNPayment',
    'AllowOnlinePayment',
    'AllowOnlineCreditCardPayment',
    'AllowOnlineACHPayment',
    'ClassRef',
    'ShipMethodRef',
    'ShipDate',
    'TrackingNum',
    'DeliveryInfo',
    'InvoiceLink',
    'RecurDataRef',
    'TaxExemptionRef',
    'EInvoiceStatus',
  ],
  Payment: [
    ...TXN,
    'CustomerRef',
    'PaymentMethodRef',
    'UnappliedAmt',
    'DepositToAccountRef',
    'ARAccountRef',
    'CreditCardPayment',
    'PaymentRefNum',
    'TaxExemptionRef',
    'ProcessPayment',
  ],
  Bill: [
    ...TXN,
    'VendorRef',
    'APAccountRef',
    'SalesTermRef',
    'DueDate',
    'Balance',
    'HomeBalance',
    'IncludeInAnnualTPAR',
    'RecurDataRef',
  ],
  CompanyInfo: [
    'CompanyName',
    'LegalName',
    'CompanyAddr',
    'CustomerCommunicationAddr',
    'LegalAddr',
    'CustomerCommunicationEmailAddr',
    'PrimaryPhone',
    'CompanyStartDate',
    'FiscalYearStartMonth',
    'Country',
    'Email',
    'WebAddr',
    'SupportedLanguages',
    'NameValue',
  ],
  Preferences: [
    'AccountingInfoPrefs',
    'ProductAndServicesPrefs',
    'SalesFormsPrefs',
    'EmailMessagesPrefs',
    'VendorAndPurchasesPrefs',
    'TimeTrackingPrefs',
    'TaxPrefs',
    'CurrencyPrefs',
    'ReportPrefs',
    'OtherPrefs',
  ],
};

const byLower = new Map<EntityName, Map<string, string>>();
for (const [entity, props] of Object.entries(PROPERTIES) as [EntityName, string[]][]) {
  byLower.set(entity, new Map([...COMMON, ...props].map((p) => [p.toLowerCase(), p])));
}

/**
 * The canonical spelling of a top-level property; undefined when QBO would not know it;
 * null for an entity without a property list here (then any name is accepted).
 */
export function knownProperty(entity: EntityName, name: string): string | undefined | null {
  const props = byLower.get(entity);
  return props ? props.get(name.toLowerCase()) : null;
}

/**
 * The order QBO returns rows in when there is no ORDERBY, as seen in the recordings:
 * Customers by FullyQualifiedName (a sub-customer follows its parent, rec all/customers-2),
 * Vendors and Employees by DisplayName (rec all/vendors_by_5-*,
 * all/employees_including_active-2), in binary order
 * ("PG&E" before "Pam Seitz"); transactions newest change first (rec all/sales_receipts:
 * LastUpdatedTime descending). Other name lists follow their name property.
 */
export type DefaultOrder = { kind: 'name'; property: string } | { kind: 'updated-desc' };

export function defaultOrder(entity: EntityName): DefaultOrder {
  switch (entity) {
    case 'Customer':
    case 'Item':
    case 'Account':
      return { kind: 'name', property: 'FullyQualifiedName' };
    case 'Vendor':
    case 'Employee':
      return { kind: 'name', property: 'DisplayName' };
    case 'Term':
    case 'TaxCode':
    case 'PaymentMethod':
      return { kind: 'name', property: 'Name' };
    default:
      return { kind: 'updated-desc' };
  }
}
