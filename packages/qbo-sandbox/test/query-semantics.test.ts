import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestSandbox, type TestSandbox } from './helpers.ts';
import type { EntityName, QboObject } from '../src/core/company.ts';

let t: TestSandbox;
const T0 = Date.parse('2024-03-01T12:00:00Z');

function put(entity: EntityName, id: string, fields: Record<string, unknown>, at = T0): void {
  const meta = { CreateTime: t.company.formatTime(at), LastUpdatedTime: t.company.formatTime(at) };
  const obj = { Id: id, SyncToken: '0', domain: 'QBO', sparse: false, MetaData: meta, ...fields };
  t.company.put(entity, obj as QboObject, at, null);
}

async function query(text: string) {
  return t.api(`/query?query=${encodeURIComponent(text)}&minorversion=75`);
}
async function ids(text: string): Promise<string[]> {
  const res = await query(text);
  expect(res.status).toBe(200);
  const qr = res.body.QueryResponse as Record<string, unknown>;
  const list = Object.values(qr).find(Array.isArray) as Array<{ Id: string }> | undefined;
  return (list ?? []).map((o) => o.Id);
}

beforeEach(async () => {
  t = await startTestSandbox({ config: { limits: { enabled: false } } });
  put('Customer', '1', {
    DisplayName: 'Alpha Co',
    FullyQualifiedName: 'Alpha Co',
    Active: true,
    Balance: 10,
  });
  put('Customer', '2', {
    DisplayName: 'beta llc',
    FullyQualifiedName: 'beta llc',
    Active: true,
    Balance: 9.5,
  });
  put('Customer', '3', {
    DisplayName: 'Gamma',
    FullyQualifiedName: 'Gamma',
    Active: false,
    Balance: 100,
  });
  put('Customer', '10', {
    DisplayName: 'Delta',
    FullyQualifiedName: 'Delta',
    Active: true,
    Balance: 0,
    BillAddr: { City: 'Tucson' },
  });
  const inv = (id: string, customer: string, date: string, total: number, at: number) =>
    put(
      'Invoice',
      id,
      {
        DocNumber: `10${id}`,
        TxnDate: date,
        TotalAmt: total,
        Balance: total,
        CustomerRef: { value: customer, name: 'x' },
      },
      at,
    );
  inv('1', '1', '2024-01-15', 100, T0 + 1000);
  inv('2', '2', '2024-02-01', 25.5, T0 + 3000);
  inv('3', '1', '2024-02-20', 7, T0 + 2000);
});
afterEach(() => t.close());

describe('query filters', () => {
  it('matches strings case-insensitively, with = and LIKE', async () => {
    expect(await ids("select * from customer where displayname = 'ALPHA CO'")).toEqual(['1']);
    expect(await ids("SELECT * FROM Customer WHERE DisplayName LIKE 'b%'")).toEqual(['2']);
    expect(await ids("SELECT * FROM Customer WHERE DisplayName LIKE '%co'")).toEqual(['1']);
    expect(await ids("SELECT * FROM Customer WHERE DisplayName LIKE '%ELT%'")).toEqual(['10']);
  });

  it('compares numbers numerically, whether the literal is quoted or not', async () => {
    expect(await ids('SELECT * FROM Invoice WHERE TotalAmt > 9 ORDERBY Id')).toEqual(['1', '2']);
    expect(await ids("SELECT * FROM Invoice WHERE TotalAmt > '9' ORDERBY Id")).toEqual(['1', '2']);
    expect(await ids('SELECT * FROM Customer WHERE Balance <= 9.50')).toEqual(['10', '2']);
  });

  it('compares dates as dates and MetaData times as instants', async () => {
    expect(
      await ids("SELECT * FROM Invoice WHERE TxnDate >= '2024-02-01' AND TxnDate < '2024-02-20'"),
    ).toEqual(['2']);
    // T0+1500 ms is 05:00:01.5 at -07:00; only invoices updated after it match.
    const after = '2024-03-01T05:00:01.500-07:00';
    expect(
      await ids(`SELECT * FROM Invoice WHERE MetaData.LastUpdatedTime > '${after}' ORDERBY Id`),
    ).toEqual(['2', '3']);
    expect(
      await ids("SELECT * FROM Invoice WHERE MetaData.LastUpdatedTime > '2024-03-01T12:00:02Z'"),
    ).toEqual(['2']);
  });

  it('compares references on their value and reads nested properties', async () => {
    expect(await ids("SELECT * FROM Invoice WHERE CustomerRef = '1' ORDERBY Id")).toEqual([
      '1',
      '3',
    ]);
    expect(await ids("SELECT * FROM Customer WHERE BillAddr.City = 'tucson'")).toEqual(['10']);
  });

  it('selects by Id with = and IN', async () => {
    expect(await ids("SELECT * FROM Invoice WHERE Id = '2'")).toEqual(['2']);
    expect(await ids("SELECT * FROM Invoice WHERE Id IN ('1', '3', '99') ORDERBY Id")).toEqual([
      '1',
      '3',
    ]);
  });

  it('hides inactive names unless the query mentions Active', async () => {
    expect(await ids('SELECT * FROM Customer')).toEqual(['1', '10', '2']);
    expect(await ids('SELECT * FROM Customer WHERE Active = false')).toEqual(['3']);
    expect(await ids('SELECT * FROM Customer WHERE Active IN (true, false)')).toEqual([
      '1',
      '10',
      '3',
      '2',
    ]);
    const count = await query('SELECT COUNT(*) FROM Customer WHERE Balance > 5');
    expect(count.body.QueryResponse).toEqual({ totalCount: 2 });
  });
});

describe('query ordering and paging', () => {
  it('lists transactions newest change first and names by name, in binary order', async () => {
    expect(await ids('SELECT * FROM Invoice')).toEqual(['2', '3', '1']);
    // Upper case sorts before lower case, as QBO's "PG&E" before "Pam Seitz".
    expect(await ids('SELECT * FROM Customer')).toEqual(['1', '10', '2']);
  });

  it('orders by any property, both directions, several keys', async () => {
    expect(await ids('SELECT * FROM Invoice ORDERBY TotalAmt DESC')).toEqual(['1', '2', '3']);
    expect(await ids('SELECT * FROM Invoice ORDERBY TxnDate')).toEqual(['1', '2', '3']);
    expect(await ids('SELECT * FROM Invoice ORDERBY CustomerRef DESC, TotalAmt ASC')).toEqual([
      '2',
      '3',
      '1',
    ]);
    expect(await ids('SELECT * FROM Invoice ORDERBY MetaData.LastUpdatedTime')).toEqual([
      '1',
      '3',
      '2',
    ]);
    expect(await ids('SELECT * FROM Customer ORDERBY Id DESC')).toEqual(['10', '2', '1']);
  });

  it('sees a change made after an earlier query', async () => {
    expect(await ids('SELECT * FROM Invoice MAXRESULTS 1')).toEqual(['2']);
    put('Invoice', '1', { DocNumber: '101', TxnDate: '2024-01-15', TotalAmt: 100 }, T0 + 9000);
    expect(await ids('SELECT * FROM Invoice MAXRESULTS 1')).toEqual(['1']);
  });

  it('defaults to 100 rows, caps MAXRESULTS at 1000, and reports the rows returned', async () => {
    for (let i = 100; i < 1300; i += 1) put('Invoice', String(i), { TotalAmt: 1 }, T0 - i);
    const dflt = await query('SELECT * FROM Invoice');
    expect(dflt.body.QueryResponse).toMatchObject({ startPosition: 1, maxResults: 100 });
    const big = await query('SELECT * FROM Invoice STARTPOSITION 2 MAXRESULTS 5000');
    expect(big.body.QueryResponse).toMatchObject({ startPosition: 2, maxResults: 1000 });
    expect(big.body.QueryResponse.Invoice).toHaveLength(1000);
    const last = await query('SELECT * FROM Invoice STARTPOSITION 1201 MAXRESULTS 10');
    expect(last.body.QueryResponse).toMatchObject({ startPosition: 1201, maxResults: 3 });
  });

  it('answers an empty QueryResponse past the last row', async () => {
    const res = await query('SELECT * FROM Invoice STARTPOSITION 4');
    expect(res.body.QueryResponse).toEqual({});
    const none = await query("SELECT * FROM Invoice WHERE DocNumber = 'nope'");
    expect(none.body.QueryResponse).toEqual({});
  });

  it('rejects STARTPOSITION or MAXRESULTS below 1 with 4001', async () => {
    for (const clause of ['MAXRESULTS 0', 'STARTPOSITION 0', 'MAXRESULTS -3']) {
      const res = await query(`SELECT * FROM Invoice ${clause}`);
      expect(res.status).toBe(400);
      expect(res.body.Fault.Error[0]).toMatchObject({ code: '4001', Message: 'Invalid query' });
      expect(res.body.Fault.Error[0].Detail).toMatch(
        /^QueryValidationError: value -?\d+ is too small/,
      );
    }
  });

  it('returns whole objects when properties are named instead of *', async () => {
    const res = await query("SELECT Id, DisplayName FROM Customer WHERE Id = '10'");
    expect(res.body.QueryResponse.Customer[0].BillAddr).toEqual({ City: 'Tucson' });
  });
});

describe('query endpoint', () => {
  it('takes the statement as a POST body with Content-Type application/text', async () => {
    const res = await t.api('/query?minorversion=75', {
      method: 'POST',
      body: "SELECT * FROM Customer WHERE DisplayName = 'Delta'",
      contentType: 'application/text',
    });
    expect(res.status).toBe(200);
    expect(res.body.QueryResponse.Customer[0].Id).toBe('10');
    const form = await t.api('/query', {
      method: 'POST',
      body: `query=${encodeURIComponent('SELECT COUNT(*) FROM Invoice')}`,
      contentType: 'application/x-www-form-urlencoded',
    });
    expect(form.body.QueryResponse).toEqual({ totalCount: 3 });
  });

  it('answers a missing or unparsable statement with 4000 and where it failed', async () => {
    const missing = await t.api('/query');
    expect(missing.status).toBe(400);
    expect(missing.body.Fault).toEqual({
      Error: [
        {
          Message: 'Error parsing query',
          Detail: 'QueryParserError: Encountered "<EOF>" at line 1, column 1.',
          code: '4000',
        },
      ],
      type: 'ValidationFault',
    });
    const or = await query("SELECT * FROM Customer WHERE Id = '1' OR Id = '2'");
    expect(or.body.Fault.Error[0].Detail).toBe(
      'QueryParserError: Encountered " "or" "OR "" at line 1, column 39.',
    );
  });

  it('answers an unknown property with 4001 naming it and the entity', async () => {
    const res = await query("SELECT * FROM Invoice WHERE NoSuchField = '1'");
    expect(res.status).toBe(400);
    expect(res.body.Fault.Error[0]).toEqual({
      Message: 'Invalid query',
      Detail: 'QueryValidationError: Property NoSuchField not found for Entity Invoice',
      code: '4001',
    });
    const order = await query('SELECT * FROM Invoice ORDERBY Bogus');
    expect(order.body.Fault.Error[0].Detail).toContain('Property Bogus not found');
  });

  it('refuses range operators on Id', async () => {
    const res = await query("SELECT * FROM Invoice WHERE Id > '1'");
    expect(res.status).toBe(400);
    expect(res.body.Fault.Error[0].code).toBe('4001');
  });

  it('requires a valid access token', async () => {
    const res = await t.api(`/query?query=${encodeURIComponent('SELECT * FROM Customer')}`, {
      token: 'not-a-token',
    });
    expect(res.status).toBe(401);
  });
});
