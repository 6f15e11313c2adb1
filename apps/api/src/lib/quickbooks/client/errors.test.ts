import { describe, expect, it } from 'vitest';
import {
  QboAuthError,
  QboFault,
  QboThrottledError,
  errorFromResponse,
  parseFault,
} from './errors.ts';

// Bodies as Intuit sent them: minimul/qbo_api spec/vcr (JSON) and quickbooks-ruby fixtures (XML).
const DUPLICATE_JSON = JSON.stringify({
  Fault: {
    Error: [
      {
        Message: 'Duplicate Name Exists Error',
        Detail: 'The name supplied already exists. : null',
        code: '6240',
      },
    ],
    type: 'ValidationFault',
  },
  time: '2020-09-29T06:58:50.262-07:00',
});

const EXPIRED_401 = JSON.stringify({
  warnings: null,
  intuitObject: null,
  fault: {
    error: [
      {
        message: 'message=AuthenticationFailed; errorCode=003200; statusCode=401',
        detail: 'Token expired: <redacted>',
        code: '3200',
        element: null,
      },
    ],
    type: 'AUTHENTICATION',
  },
  report: null,
  time: 1601391072830,
});

const THROTTLE_XML = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<IntuitResponse time="2016-12-07T15:27:09.527-08:00" xmlns="http://schema.intuit.com/finance/v3">
  <Fault type="SERVICE">
    <Error code="3001">
      <Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message>
      <Detail>The request limit was reached.  Try again later</Detail>
    </Error>
  </Fault>
</IntuitResponse>`;

const THROTTLE_403_XML = THROTTLE_XML.replace('statusCode=429', 'statusCode=403');

const BARE_FAULT_XML = `<Fault type="ValidationFault">
  <Error code="2050" element="firstname">
    <Message>Length exceeds limit</Message>
    <Detail>Length of the field exceeds 21 chars</Detail>
  </Error>
  <Error code="2080" element="postalcode">
    <Message>Illegal number format</Message>
    <Detail>ZipCode should be a number with at least 5 digits</Detail>
  </Error>
</Fault>`;

describe('QBO error family', () => {
  it('a duplicate-name JSON fault becomes a QboFault carrying code, status and intuit_tid', () => {
    const err = errorFromResponse({
      status: 400,
      bodyText: DUPLICATE_JSON,
      contentType: 'application/json',
      intuitTid: '1-abc',
    });
    expect(err).toBeInstanceOf(QboFault);
    expect(err).not.toBeInstanceOf(QboThrottledError);
    expect(err).toMatchObject({
      status: 400,
      code: '6240',
      intuitTid: '1-abc',
      type: 'ValidationFault',
    });
    expect(err.message).toContain('Duplicate Name Exists Error');
  });

  it('the lowercase 401 envelope becomes a QboAuthError with code 3200', () => {
    const err = errorFromResponse({
      status: 401,
      bodyText: EXPIRED_401,
      contentType: 'application/json',
      intuitTid: null,
    });
    expect(err).toBeInstanceOf(QboAuthError);
    expect(err).toMatchObject({ status: 401, code: '3200', type: 'AUTHENTICATION' });
    expect(err.errors[0]!.detail).toBe('Token expired: <redacted>');
  });

  it('an XML 429 throttle becomes a QboThrottledError with code 3001', () => {
    const err = errorFromResponse({
      status: 429,
      bodyText: THROTTLE_XML,
      contentType: 'application/xml',
      intuitTid: 't',
    });
    expect(err).toBeInstanceOf(QboThrottledError);
    expect(err).toMatchObject({ status: 429, code: '3001', type: 'SERVICE' });
    expect(err.errors[0]!.detail).toBe('The request limit was reached.  Try again later');
  });

  it('an old-style 403 throttle is still recognised as throttling, not as an auth failure', () => {
    const err = errorFromResponse({
      status: 403,
      bodyText: THROTTLE_403_XML,
      contentType: null,
      intuitTid: null,
    });
    expect(err).toBeInstanceOf(QboThrottledError);
  });

  it('a bare XML Fault with several errors keeps all of them and their elements', () => {
    const fault = parseFault(BARE_FAULT_XML, 'text/xml');
    expect(fault).toEqual({
      type: 'ValidationFault',
      errors: [
        {
          code: '2050',
          element: 'firstname',
          message: 'Length exceeds limit',
          detail: 'Length of the field exceeds 21 chars',
        },
        {
          code: '2080',
          element: 'postalcode',
          message: 'Illegal number format',
          detail: 'ZipCode should be a number with at least 5 digits',
        },
      ],
    });
  });

  it('an error page that is not a fault still yields a QboFault with the status', () => {
    const err = errorFromResponse({
      status: 502,
      bodyText: '<html><body>Bad Gateway</body></html>',
      contentType: 'text/html',
      intuitTid: null,
    });
    expect(err).toBeInstanceOf(QboFault);
    expect(err).toMatchObject({ status: 502, type: 'HttpError', code: null });
  });
});
