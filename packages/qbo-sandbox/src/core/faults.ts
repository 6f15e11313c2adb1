/**
 * QBO faults. Every error the Accounting API answers is built here so the shapes stay
 * identical to the recordings in fixtures/qbo-recordings (qbo_api/error/*, batch/basic).
 */
export type FaultType =
  'ValidationFault' | 'SystemFault' | 'AuthenticationFault' | 'AuthorizationFault' | 'SERVICE';

export interface FaultItem {
  Message: string;
  Detail: string;
  code: string;
  element?: string;
}

/** How a fault is written on the wire. */
export type FaultFormat = 'json' | 'xml' | 'auth401';

export class QboFault extends Error {
  constructor(
    readonly status: number,
    readonly type: FaultType,
    readonly errors: FaultItem[],
    readonly format: FaultFormat = 'json',
    readonly headers: Record<string, string> = {},
  ) {
    super(errors.map((e) => `${e.code} ${e.Message}: ${e.Detail}`).join('; '));
  }

  /** The `{"Fault":{…}}` object used in responses and inside batch items. */
  toFaultObject(): { Error: FaultItem[]; type: FaultType } {
    return { Error: this.errors, type: this.type };
  }
}

const v = (Message: string, Detail: string, code: string, element?: string): QboFault =>
  new QboFault(400, 'ValidationFault', [
    element === undefined ? { Message, Detail, code } : { Message, Detail, code, element },
  ]);

export const Faults = {
  /** rec error/400_json */
  unsupportedProperty: (property: string, entity: string): QboFault =>
    v(
      'Request has invalid or unsupported property',
      `Property Name:Unrecognized field "${property}" (class com.intuit.schema.finance.v3.${entity}), not marked as ignorable specified is unsupported or invalid`,
      '2010',
    ),
  malformedBody: (reason: string): QboFault =>
    v(
      'Request has invalid or unsupported property',
      `Property Name:${reason} specified is unsupported or invalid`,
      '2010',
    ),
  /** docs: 2020 Required param missing, need to supply the required value for the API */
  requiredParam: (param: string): QboFault =>
    v(
      'Required param missing, need to supply the required value for the API',
      `Required parameter ${param} is missing in the request`,
      '2020',
      param,
    ),
  /** rec error/500-2 */
  invalidId: (supplied: string): QboFault =>
    v('Invalid ID', `Id should be a valid number. Supplied value:${supplied}`, '2030', 'Id'),
  /** rec batch/basic (bid2) */
  objectNotFound: (detail?: string): QboFault =>
    v(
      'Object Not Found',
      detail ??
        "Object Not Found : Something you're trying to use has been made inactive. Check the fields with accounts, customers, items, vendors or employees.",
      '610',
      '',
    ),
  /** docs: 2500 Invalid Reference Id */
  invalidReference: (field: string, id: string): QboFault =>
    v(
      'Invalid Reference Id',
      `Invalid Reference Id : ${field} assigned is invalid: ${id}`,
      '2500',
      field,
    ),
  /** rec batch/basic (bid3) */
  staleObject: (): QboFault =>
    v(
      'Stale Object Error',
      'Stale Object Error : You and another user were working on this at the same time. The other user finished before you did, so your work was not saved.',
      '5010',
      '',
    ),
  /** rec error/validation */
  duplicateName: (): QboFault =>
    v('Duplicate Name Exists Error', 'The name supplied already exists. : null', '6240'),
  /** docs: 6140 Duplicate Document Number Error (when the preference to warn is on) */
  duplicateDocNumber: (docNumber: string): QboFault =>
    v(
      'Duplicate Document Number Error',
      `Duplicate Document Number Error : You must specify a different number. This number has already been used. DocNumber=${docNumber} is assigned to TxnType=Invoice with TxnId=`,
      '6140',
    ),
  /** rec error/500-1 */
  unsupportedOperation: (relativePath: string): QboFault =>
    v(
      'Unsupported Operation',
      `Operation Could not find resource for relative : ${relativePath} of full path: https://sandbox.qbo.intuit.com/qbo50${relativePath} is not supported.`,
      '500',
    ),
  /** rec error/400-2 */
  invalidQuery: (detail: string): QboFault =>
    v('Invalid query', `QueryValidationError: ${detail}`, '4001'),
  queryParserError: (detail: string): QboFault =>
    v('Error parsing query', `QueryParserError: ${detail}`, '4000'),
  /**
   * A string past its maximum length (Chargebee KB "QBO Error Code:2050", quoting QBO's
   * answer to a 22-character invoice DocNumber: "String length specified does not match the
   * supported length. Min:0 Max:21 supported.").
   */
  stringLength: (field: string, max: number): QboFault =>
    v(
      'String length specified does not match the supported length',
      `String length specified does not match the supported length. Min:0 Max:${max} supported. ${field}`,
      '2050',
      field,
    ),
  /** A business rule, QBO code 6000 with a human message. */
  businessValidation: (detail: string, element?: string): QboFault =>
    v(
      'A business validation error has occurred while processing your request',
      `Business Validation Error: ${detail}`,
      '6000',
      element,
    ),
  /** rec error/401: lowercase envelope, WWW-Authenticate header. */
  authenticationFailed: (detail: string): QboFault =>
    new QboFault(
      401,
      'AuthenticationFault',
      [
        {
          Message: 'message=AuthenticationFailed; errorCode=003200; statusCode=401',
          Detail: detail,
          code: '3200',
        },
      ],
      'auth401',
      { 'www-authenticate': 'Bearer realm="Intuit", error="invalid_token"' },
    ),
  /**
   * A valid access token sent to another company's URL (or a realm that does not exist):
   * QBO answers 401 "General Authentication Error", code 100, not 403. Intuit reproduced it
   * with "the incorrect token/realm combination" (intuit/oauth-jsclient #91, XML form); the
   * JSON form uses the lowercase envelope of rec error/401 ⚠.
   */
  tokenNotForRealm: (): QboFault =>
    new QboFault(
      401,
      'AuthenticationFault',
      [
        {
          Message: 'General Authentication Error',
          Detail: 'AuthenticationErrorGeneral: SRV-110-Authentication Failure , statusCode: 401',
          code: '100',
        },
      ],
      'auth401',
      { 'www-authenticate': 'Bearer realm="Intuit", error="invalid_token"' },
    ),
  /** quickbooks-ruby too_many_requests_error.xml; the JSON form mirrors it. */
  throttled: (format: 'json' | 'xml' = 'json'): QboFault =>
    new QboFault(
      429,
      'SERVICE',
      [
        {
          Message: 'message=ThrottleExceeded; errorCode=003001; statusCode=429',
          Detail: 'The request limit was reached.  Try again later',
          code: '3001',
        },
      ],
      format,
    ),
  systemFault: (
    status = 500,
    detail = 'An application error has occurred while processing your request',
  ): QboFault =>
    new QboFault(status, 'SystemFault', [
      {
        Message: 'An application error has occurred while processing your request',
        Detail: detail,
        code: '10000',
      },
    ]),
} as const;

const xmlEscape = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Serialises a fault as QBO does, given the envelope `time` string. */
export function renderFault(
  fault: QboFault,
  time: string,
  epochMs: number,
): { contentType: string; body: string } {
  if (fault.format === 'xml') {
    const errors = fault.errors
      .map(
        (e) =>
          `    <Error code="${xmlEscape(e.code)}"${e.element ? ` element="${xmlEscape(e.element)}"` : ''}>\n` +
          `      <Message>${xmlEscape(e.Message)}</Message>\n      <Detail>${xmlEscape(e.Detail)}</Detail>\n    </Error>\n`,
      )
      .join('');
    return {
      contentType: 'application/xml',
      body:
        `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n` +
        `<IntuitResponse time="${time}" xmlns="http://schema.intuit.com/finance/v3">\n` +
        `  <Fault type="${fault.type}">\n${errors}  </Fault>\n</IntuitResponse>\n`,
    };
  }
  if (fault.format === 'auth401') {
    // rec error/401: every key lowercase, plus a set of null members, and `time` in epoch ms.
    return {
      contentType: 'application/json',
      body: JSON.stringify({
        warnings: null,
        intuitObject: null,
        fault: {
          error: fault.errors.map((e) => ({
            message: e.Message,
            detail: e.Detail,
            code: e.code,
            element: null,
          })),
          type: 'AUTHENTICATION',
        },
        report: null,
        queryResponse: null,
        batchItemResponse: [],
        attachableResponse: [],
        syncErrorResponse: null,
        requestId: null,
        time: epochMs,
        status: null,
        cdcresponse: [],
      }),
    };
  }
  return {
    contentType: 'application/json',
    body: JSON.stringify({ Fault: fault.toFaultObject(), time }),
  };
}
