/**
 * The fixed lists every seeded company starts with: a chart of accounts, terms and payment
 * methods, modelled on QBO's US sample company ("Sandbox Company_US_1"), whose accounts,
 * terms and methods appear in the recordings (quickbooks-go account.json/bill.json,
 * qbo_api deactivate/account-1: `Fees Billed`, Income/ServiceFeeIncome/Revenue).
 */

export type Classification = 'Asset' | 'Liability' | 'Equity' | 'Revenue' | 'Expense';

export interface AccountSpec {
  key: string;
  name: string;
  type: string;
  subType: string;
  classification: Classification;
  /** Parent's key for a sub-account (FullyQualifiedName is `Parent:Child`). */
  parent?: string;
}

// AccountType and AccountSubType spellings follow the Account entity reference
// (developer.intuit.com, "Account classification"): AccountType is the display text
// ("Accounts Receivable"), AccountSubType the enum (`AccountsReceivable`).
export const ACCOUNTS: readonly AccountSpec[] = [
  { key: 'checking', name: 'Checking', type: 'Bank', subType: 'Checking', classification: 'Asset' },
  { key: 'savings', name: 'Savings', type: 'Bank', subType: 'Savings', classification: 'Asset' },
  {
    key: 'ar',
    name: 'Accounts Receivable (A/R)',
    type: 'Accounts Receivable',
    subType: 'AccountsReceivable',
    classification: 'Asset',
  },
  {
    key: 'undeposited',
    name: 'Undeposited Funds',
    type: 'Other Current Asset',
    subType: 'UndepositedFunds',
    classification: 'Asset',
  },
  {
    key: 'prepaid',
    name: 'Prepaid Expenses',
    type: 'Other Current Asset',
    subType: 'PrepaidExpenses',
    classification: 'Asset',
  },
  {
    key: 'equipment',
    name: 'Truck',
    type: 'Fixed Asset',
    subType: 'Vehicles',
    classification: 'Asset',
  },
  {
    key: 'ap',
    name: 'Accounts Payable (A/P)',
    type: 'Accounts Payable',
    subType: 'AccountsPayable',
    classification: 'Liability',
  },
  {
    key: 'visa',
    name: 'Visa',
    type: 'Credit Card',
    subType: 'CreditCard',
    classification: 'Liability',
  },
  {
    key: 'payroll',
    name: 'Payroll Liabilities',
    type: 'Other Current Liability',
    subType: 'PayrollTaxPayable',
    classification: 'Liability',
  },
  {
    key: 'loan',
    name: 'Loan Payable',
    type: 'Other Current Liability',
    subType: 'LoanPayable',
    classification: 'Liability',
  },
  {
    key: 'obe',
    name: 'Opening Balance Equity',
    type: 'Equity',
    subType: 'OpeningBalanceEquity',
    classification: 'Equity',
  },
  {
    key: 'retained',
    name: 'Retained Earnings',
    type: 'Equity',
    subType: 'RetainedEarnings',
    classification: 'Equity',
  },
  {
    key: 'services',
    name: 'Services',
    type: 'Income',
    subType: 'ServiceFeeIncome',
    classification: 'Revenue',
  },
  {
    key: 'landscaping',
    name: 'Landscaping Services',
    type: 'Income',
    subType: 'ServiceFeeIncome',
    classification: 'Revenue',
  },
  {
    key: 'product',
    name: 'Sales of Product Income',
    type: 'Income',
    subType: 'SalesOfProductIncome',
    classification: 'Revenue',
  },
  {
    key: 'interest',
    name: 'Interest Earned',
    type: 'Other Income',
    subType: 'InterestEarned',
    classification: 'Revenue',
  },
  {
    key: 'cogs',
    name: 'Cost of Goods Sold',
    type: 'Cost of Goods Sold',
    subType: 'SuppliesMaterialsCogs',
    classification: 'Expense',
  },
  {
    key: 'advertising',
    name: 'Advertising',
    type: 'Expense',
    subType: 'AdvertisingPromotional',
    classification: 'Expense',
  },
  {
    key: 'bank-charges',
    name: 'Bank Charges',
    type: 'Expense',
    subType: 'BankCharges',
    classification: 'Expense',
  },
  {
    key: 'insurance',
    name: 'Insurance',
    type: 'Expense',
    subType: 'Insurance',
    classification: 'Expense',
  },
  {
    key: 'legal',
    name: 'Legal & Professional Fees',
    type: 'Expense',
    subType: 'LegalProfessionalFees',
    classification: 'Expense',
  },
  {
    key: 'office',
    name: 'Office Expenses',
    type: 'Expense',
    subType: 'OfficeGeneralAdministrativeExpenses',
    classification: 'Expense',
  },
  {
    key: 'rent',
    name: 'Rent or Lease',
    type: 'Expense',
    subType: 'RentOrLeaseOfBuildings',
    classification: 'Expense',
  },
  {
    key: 'utilities',
    name: 'Utilities',
    type: 'Expense',
    subType: 'Utilities',
    classification: 'Expense',
  },
  {
    key: 'telephone',
    name: 'Telephone',
    type: 'Expense',
    subType: 'Utilities',
    classification: 'Expense',
    parent: 'utilities',
  },
  {
    key: 'gas-electric',
    name: 'Gas and Electric',
    type: 'Expense',
    subType: 'Utilities',
    classification: 'Expense',
    parent: 'utilities',
  },
  {
    key: 'job-expenses',
    name: 'Job Expenses',
    type: 'Expense',
    subType: 'SuppliesMaterials',
    classification: 'Expense',
  },
  {
    key: 'job-materials',
    name: 'Job Materials',
    type: 'Expense',
    subType: 'SuppliesMaterials',
    classification: 'Expense',
    parent: 'job-expenses',
  },
];

/** Accounts a bill line may be booked to. */
export const BILL_EXPENSE_ACCOUNTS = [
  'advertising',
  'bank-charges',
  'insurance',
  'legal',
  'office',
  'rent',
  'telephone',
  'gas-electric',
  'job-materials',
  'cogs',
] as const;

export interface TermSpec {
  name: string;
  dueDays: number;
  discountPercent: number;
  discountDays?: number;
}

// The US sample company's terms (Term entity docs: Type STANDARD, DueDays).
export const TERMS: readonly TermSpec[] = [
  { name: 'Due on receipt', dueDays: 0, discountPercent: 0 },
  { name: 'Net 15', dueDays: 15, discountPercent: 0 },
  { name: 'Net 30', dueDays: 30, discountPercent: 0 },
  { name: 'Net 60', dueDays: 60, discountPercent: 0 },
  { name: '1% 10 Net 30', dueDays: 30, discountPercent: 1, discountDays: 10 },
];
/** QBO's sandbox falls back to 30 days when an invoice has no terms (rec create/invoice). */
export const DEFAULT_DUE_DAYS = 30;

export const PAYMENT_METHODS: readonly { name: string; type: 'CREDIT_CARD' | 'NON_CREDIT_CARD' }[] =
  [
    { name: 'Cash', type: 'NON_CREDIT_CARD' },
    { name: 'Check', type: 'NON_CREDIT_CARD' },
    { name: 'Visa', type: 'CREDIT_CARD' },
    { name: 'MasterCard', type: 'CREDIT_CARD' },
    { name: 'Discover', type: 'CREDIT_CARD' },
    { name: 'American Express', type: 'CREDIT_CARD' },
    { name: 'Diners Club', type: 'CREDIT_CARD' },
  ];

/** Entities a seed always creates besides its counted ones (accounts, terms, methods, CompanyInfo). */
export const FIXED_ENTITY_COUNT = ACCOUNTS.length + TERMS.length + PAYMENT_METHODS.length + 1;
