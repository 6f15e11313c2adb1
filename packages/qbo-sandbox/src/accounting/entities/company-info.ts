import type { Company, EntityName, QboObject } from '../../core/company.ts';
import { formatQboDate } from '../../core/clock.ts';
import { isObject, requiredParam, text, type Fields } from '../validate.ts';
import type { EntitySpec } from './types.ts';

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

/**
 * Intuit "CompanyInfo" reference: the fields a sandbox company shows. Seeded companies
 * start from it and replace the address, phone, e-mail, start date and industry.
 */
export function defaultCompanyInfo(company: Company, industryType = 'Other'): Fields {
  const addr = {
    Id: '1',
    Line1: '123 Sierra Way',
    City: 'San Pablo',
    CountrySubDivisionCode: 'CA',
    PostalCode: '87999',
    Lat: '36.6788345',
    Long: '-5.4464622',
  };
  return {
    CompanyName: company.companyName,
    LegalName: company.companyName,
    CompanyAddr: addr,
    CustomerCommunicationAddr: addr,
    LegalAddr: addr,
    CustomerCommunicationEmailAddr: { Address: 'noreply@quickbooks.com' },
    PrimaryPhone: {},
    CompanyStartDate: formatQboDate(company.createdAt, company.offsetMinutes),
    FiscalYearStartMonth: 'January',
    Country: company.country,
    Email: { Address: 'noreply@quickbooks.com' },
    WebAddr: {},
    SupportedLanguages: 'en',
    NameValue: [
      { Name: 'NeoEnabled', Value: 'true' },
      { Name: 'IndustryType', Value: industryType },
      { Name: 'CompanyType', Value: 'Other' },
      { Name: 'SubscriptionStatus', Value: 'SUBSCRIBED' },
      { Name: 'OfferingSku', Value: 'QuickBooks Online Plus' },
      { Name: 'PayrollFeature', Value: 'false' },
      { Name: 'AccountantFeature', Value: 'false' },
      { Name: 'IsQbdtMigrated', Value: 'false' },
    ],
  };
}

/** Intuit "Preferences" reference: a US company without sales tax or multicurrency. */
function defaultPreferences(): Fields {
  return {
    AccountingInfoPrefs: {
      TrackDepartments: false,
      DepartmentTerminology: 'Location',
      ClassTrackingPerTxnLine: false,
      ClassTrackingPerTxn: false,
      CustomerTerminology: 'Customers',
    },
    ProductAndServicesPrefs: {
      ForSales: true,
      ForPurchase: true,
      QuantityWithPriceAndRate: true,
      QuantityOnHand: true,
    },
    SalesFormsPrefs: {
      CustomField: [],
      AllowDeposit: true,
      AllowDiscount: true,
      AllowEstimates: true,
      AllowServiceDate: false,
      AllowShipping: false,
      CustomTxnNumbers: false,
      ETransactionEnabledStatus: 'NotApplicable',
      IPNSupportEnabled: false,
      ETransactionPaymentEnabled: false,
      AutoApplyCredit: true,
      UsingPriceLevels: false,
      UsingProgressInvoicing: false,
    },
    EmailMessagesPrefs: {},
    VendorAndPurchasesPrefs: {
      TrackingByCustomer: true,
      BillableExpenseTracking: true,
      POCustomField: [],
    },
    TimeTrackingPrefs: {
      UseServices: true,
      BillCustomers: true,
      ShowBillRateToAll: false,
      WorkWeekStartDate: 'Monday',
      MarkTimeEntriesBillable: true,
    },
    TaxPrefs: { UsingSalesTax: false, PartnerTaxEnabled: false },
    CurrencyPrefs: {
      MultiCurrencyEnabled: false,
      HomeCurrency: { value: 'USD' },
    },
    ReportPrefs: { ReportBasis: 'Accrual', CalcAgingReportFromTxnDate: false },
    OtherPrefs: {
      NameValue: [
        { Name: 'SalesFormsPrefs.DefaultCustomerMessage' },
        { Name: 'DTXCopyMemo', Value: 'false' },
        { Name: 'UncategorizedAssetAccountId', Value: '1' },
        { Name: 'WarnDuplicateCheckNumber', Value: 'true' },
        { Name: 'WarnDuplicateBillNumber', Value: 'false' },
      ],
    },
  };
}

/** The singleton, created on first use (Id "1", as QBO numbers CompanyInfo). */
export function ensureSingleton(company: Company, entity: EntityName): QboObject {
  const existing = company.get(entity, '1');
  if (existing) return existing;
  const time = company.formatTime(company.createdAt);
  const data: QboObject = {
    ...(entity === 'CompanyInfo' ? defaultCompanyInfo(company) : defaultPreferences()),
    domain: 'QBO',
    sparse: false,
    Id: '1',
    SyncToken: '0',
    MetaData: { CreateTime: time, LastUpdatedTime: time },
  };
  company.put(entity, data, company.createdAt, null);
  return data;
}

/** Nested objects of a sparse singleton update are merged, not replaced. */
export function deepMerge(base: Fields, patch: Fields): Fields {
  const out: Fields = { ...base };
  for (const [k, v] of Object.entries(patch))
    out[k] = isObject(v) && isObject(out[k]) ? deepMerge(out[k], v) : v;
  return out;
}

export const companyInfoSpec: EntitySpec = {
  entity: 'CompanyInfo',
  kind: 'singleton',
  publicCreate: false,
  voidable: false,
  build({ fields, op }) {
    const name = text(fields.CompanyName);
    if (!name) throw requiredParam('CompanyName');
    op.company.companyName = name;
    return { ...fields, CompanyName: name, FiscalYearStartMonth: validMonth(fields) };
  },
};

function validMonth(fields: Fields): string {
  const m = text(fields.FiscalYearStartMonth);
  return m && MONTHS.includes(m) ? m : 'January';
}

export const preferencesSpec: EntitySpec = {
  entity: 'Preferences',
  kind: 'singleton',
  publicCreate: false,
  voidable: false,
  build({ fields }) {
    return { ...fields };
  },
};
