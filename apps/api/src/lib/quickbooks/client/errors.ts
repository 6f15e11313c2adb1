// One error family for everything QBO answers (or fails to answer), chosen in one place —
// `errorFromResponse`, called by the API client — from the HTTP status and the body.
// QBO speaks three fault dialects, all handled here:
//   JSON  {"Fault":{"Error":[{"Message","Detail","code","element"}],"type":"ValidationFault"},"time":…}
//   XML   <IntuitResponse><Fault type="…"><Error code="…" element="…"><Message/><Detail/></Error></Fault></IntuitResponse>
//         (QBO answers some throttles in XML: quickbooks-ruby fixtures too_many_requests_error.xml)
//   401   {"fault":{"error":[{"message","detail","code"}],"type":"AUTHENTICATION"},…} — lowercase
//         keys (recorded by minimul/qbo_api, spec/vcr/error/401.yml)
import { XMLParser } from 'fast-xml-parser';
import { QuickBooksError, type QuickBooksErrorKind } from '../errors.ts';

export interface QboErrorDetail {
  message: string;
  detail: string;
  code: string;
  element?: string;
}

export class QboError extends QuickBooksError {
  override name = 'QboError';
  override readonly kind: QuickBooksErrorKind = 'qbo_error';
  /** HTTP status; null when no response arrived. */
  readonly status: number | null;
  /** QBO's error code of the first error ("6240", "3001"…); null when there is none. */
  readonly code: string | null;
  /** The `intuit_tid` response header: the id Intuit support asks for. */
  readonly intuitTid: string | null;

  constructor(
    message: string,
    opts: {
      status?: number | null;
      code?: string | null;
      intuitTid?: string | null;
      cause?: unknown;
    } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.status = opts.status ?? null;
    this.code = opts.code ?? null;
    this.intuitTid = opts.intuitTid ?? null;
  }
}

/** QBO answered with a fault envelope (or an error status we could not parse as one). */
export class QboFault extends QboError {
  override name = 'QboFault';
  override readonly kind: QuickBooksErrorKind = 'qbo_fault';
  /** ValidationFault, SystemFault, AuthenticationFault, AUTHENTICATION, SERVICE… */
  readonly type: string;
  readonly errors: QboErrorDetail[];

  constructor(opts: {
    status: number;
    type: string;
    errors: QboErrorDetail[];
    intuitTid: string | null;
  }) {
    const first = opts.errors[0];
    const what = first
      ? `${first.code ? `${first.code} ` : ''}${first.message}${first.detail ? ` — ${first.detail}` : ''}`
      : 'no error details';
    super(`QBO ${opts.status} ${opts.type}: ${what}`, {
      status: opts.status,
      code: first?.code || null,
      intuitTid: opts.intuitTid,
    });
    this.type = opts.type;
    this.errors = opts.errors;
  }
}

/** 429, or fault code 3001 (older QBO answered throttles with 403: throttle_exceeded_error.xml). */
export class QboThrottledError extends QboFault {
  override name = 'QboThrottledError';
  override readonly kind: QuickBooksErrorKind = 'qbo_throttled';
}

/** 401/403: the access token is expired/invalid/revoked, or the app lacks access. */
export class QboAuthError extends QboFault {
  override name = 'QboAuthError';
  override readonly kind: QuickBooksErrorKind = 'qbo_auth';
}

/** No (complete) response: timeout, reset, refused, or a response lost after the request. */
export class QboNetworkError extends QboError {
  override name = 'QboNetworkError';
  override readonly kind: QuickBooksErrorKind = 'qbo_network';
  /**
   * False only when the request provably never reached QBO (connection refused, DNS
   * failure, connect timeout) — the one case where a write without a requestid may be
   * sent again without risking a duplicate.
   */
  readonly requestSent: boolean;
  readonly timedOut: boolean;
  /**
   * No connection could be made at all (refused, no route, unknown host): QBO is
   * unavailable from here, which is not the same as slow.
   */
  readonly unreachable: boolean;

  constructor(
    message: string,
    opts: { requestSent: boolean; timedOut?: boolean; unreachable?: boolean; cause?: unknown },
  ) {
    super(message, { cause: opts.cause });
    this.requestSent = opts.requestSent;
    this.timedOut = opts.timedOut ?? false;
    this.unreachable = opts.unreachable ?? false;
  }
}

export const THROTTLE_ERROR_CODE = '3001';

/**
 * The error for a non-2xx response (or a 2xx carrying a Fault). `bodyText` is the raw body;
 * an unparseable body still yields a QboFault with type "HttpError" so callers see one family.
 */
export function errorFromResponse(res: {
  status: number;
  bodyText: string;
  contentType: string | null;
  intuitTid: string | null;
}): QboFault {
  const parsed = parseFault(res.bodyText, res.contentType) ?? {
    type: 'HttpError',
    errors: [{ message: `HTTP ${res.status}`, detail: res.bodyText.slice(0, 500), code: '' }],
  };
  const init = { status: res.status, intuitTid: res.intuitTid, ...parsed };
  if (res.status === 429 || parsed.errors.some((e) => e.code === THROTTLE_ERROR_CODE)) {
    return new QboThrottledError(init);
  }
  if (res.status === 401 || res.status === 403) return new QboAuthError(init);
  return new QboFault(init);
}

/** The fault in a body of any of QBO's three dialects; null when the body holds none. */
export function parseFault(
  bodyText: string,
  contentType: string | null = null,
): { type: string; errors: QboErrorDetail[] } | null {
  const text = bodyText.trim();
  if (!text) return null;
  const looksXml = text.startsWith('<') || (contentType ?? '').includes('xml');
  if (looksXml) return parseXmlFault(text);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return null;
  }
  return faultFromJson(json);
}

/** A Fault inside an already-parsed JSON body (also used for per-item batch faults). */
export function faultFromJson(json: unknown): { type: string; errors: QboErrorDetail[] } | null {
  if (!isRecord(json)) return null;
  const fault = json.Fault ?? json.fault;
  if (!isRecord(fault)) return null;
  const list = fault.Error ?? fault.error;
  const errors = (Array.isArray(list) ? list : list === undefined ? [] : [list])
    .filter(isRecord)
    .map((e) => detailOf(e.Message ?? e.message, e.Detail ?? e.detail, e.code, e.element));
  return { type: str(fault.type) || 'Fault', errors };
}

const xml = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  isArray: (name) => name === 'Error',
});

function parseXmlFault(text: string): { type: string; errors: QboErrorDetail[] } | null {
  let doc: unknown;
  try {
    doc = xml.parse(text);
  } catch {
    return null;
  }
  if (!isRecord(doc)) return null;
  // Usually wrapped in IntuitResponse; quickbooks-ruby's fault.xml is a bare <Fault>.
  const root = isRecord(doc.IntuitResponse) ? doc.IntuitResponse : doc;
  const fault = root.Fault;
  if (!isRecord(fault)) return null;
  const errors = (Array.isArray(fault.Error) ? fault.Error : [])
    .filter(isRecord)
    .map((e) => detailOf(e.Message, e.Detail, e.code, e.element));
  return { type: str(fault.type) || 'Fault', errors };
}

function detailOf(
  message: unknown,
  detail: unknown,
  code: unknown,
  element: unknown,
): QboErrorDetail {
  const out: QboErrorDetail = { message: str(message), detail: str(detail), code: str(code) };
  const el = str(element);
  if (el) out.element = el;
  return out;
}

function str(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return '';
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
