import { describe, expect, it } from 'vitest';
import { parseQuery } from '../src/query/parser.ts';
import { QboFault } from '../src/core/faults.ts';
import { parseInstant } from '../src/query/time.ts';

function parseError(text: string): { code: string; Message: string; Detail: string } {
  try {
    parseQuery(text);
  } catch (e) {
    expect(e).toBeInstanceOf(QboFault);
    const f = (e as QboFault).errors[0]!;
    return { code: f.code, Message: f.Message, Detail: f.Detail };
  }
  throw new Error(`expected ${text} not to parse`);
}

describe('QBO query grammar', () => {
  it('reads SELECT * FROM an entity with keywords in any case', () => {
    const q = parseQuery('select * from customer');
    expect(q).toMatchObject({ count: false, entity: 'customer', where: [], orderBy: [] });
    expect(parseQuery('SeLeCt * FrOm Invoice').entity).toBe('Invoice');
  });

  it('reads COUNT(*) in either case', () => {
    expect(parseQuery('SELECT COUNT(*) FROM Vendor').count).toBe(true);
    expect(parseQuery('select count( * ) from vendor').count).toBe(true);
  });

  it('reads WHERE conditions joined by AND with every operator', () => {
    const q = parseQuery(
      "SELECT * FROM Invoice WHERE TotalAmt >= 10.50 AND TotalAmt < 100 AND DocNumber <= '9' " +
        "AND Balance > 0 AND TxnDate = '2024-01-01' AND DocNumber LIKE '10%' AND Id IN ('1', '2') " +
        'AND Balance != 3',
    );
    expect(q.where.map((c) => c.op)).toEqual(['>=', '<', '<=', '>', '=', 'LIKE', 'IN', '!=']);
    expect(q.where[0]!.values).toEqual([{ type: 'number', value: 10.5, text: '10.50' }]);
    expect(q.where[6]!.values).toEqual([
      { type: 'string', value: '1' },
      { type: 'string', value: '2' },
    ]);
  });

  it('reads booleans, negative numbers and an IN list of booleans', () => {
    const q = parseQuery('SELECT * FROM Customer WHERE Active IN ( true, false ) AND Balance > -5');
    expect(q.where[0]!.values).toEqual([
      { type: 'boolean', value: true },
      { type: 'boolean', value: false },
    ]);
    expect(q.where[1]!.values).toEqual([{ type: 'number', value: -5, text: '-5' }]);
  });

  it("unescapes \\' inside string literals", () => {
    const q = parseQuery("SELECT * FROM Customer WHERE DisplayName = 'Amy\\'s Bird Sanctuary'");
    expect(q.where[0]!.values[0]).toEqual({ type: 'string', value: "Amy's Bird Sanctuary" });
  });

  it('keeps dotted properties whole', () => {
    const q = parseQuery("SELECT * FROM Customer WHERE MetaData.LastUpdatedTime > '2024-01-01'");
    expect(q.where[0]!.property).toBe('MetaData.LastUpdatedTime');
  });

  it('reads ORDERBY with several keys and directions, and ORDER BY', () => {
    const q = parseQuery('SELECT * FROM Customer ORDERBY FamilyName DESC, GivenName ASC, Id');
    expect(q.orderBy.map((o) => [o.property, o.desc])).toEqual([
      ['FamilyName', true],
      ['GivenName', false],
      ['Id', false],
    ]);
    expect(parseQuery('select * from customer order by DisplayName').orderBy).toHaveLength(1);
  });

  it('reads STARTPOSITION and MAXRESULTS in either order', () => {
    const a = parseQuery('SELECT * FROM Vendor STARTPOSITION 6 MAXRESULTS 5');
    const b = parseQuery('SELECT * FROM Vendor MAXRESULTS 5 STARTPOSITION 6');
    for (const q of [a, b]) {
      expect(q.startPosition?.value).toBe(6);
      expect(q.maxResults?.value).toBe(5);
    }
  });

  it('accepts a property list in place of *', () => {
    const q = parseQuery('SELECT Id, DisplayName FROM Customer');
    expect(q.projection.map((t) => t.value)).toEqual(['Id', 'DisplayName']);
  });

  it('spans lines and reports the line of an error', () => {
    expect(parseQuery("SELECT *\nFROM Customer\nWHERE Id = '1'").where).toHaveLength(1);
    expect(parseError('SELECT *\nFROM Customer\nWHERE OR').Detail).toContain('line 3, column 7');
  });
});

describe('QBO query syntax errors', () => {
  const cases: Array<[string, string]> = [
    ['', 'Encountered "<EOF>" at line 1, column 1.'],
    ['SELECT', 'Encountered "<EOF>" at line 1, column 7.'],
    ['SELECT * Customer', 'Encountered " <IDENTIFIER> "Customer "" at line 1, column 10.'],
    ['SELECT * FORM Customer', 'Encountered " <IDENTIFIER> "FORM "" at line 1, column 10.'],
    ['SELECT * FROM', 'Encountered "<EOF>" at line 1, column 14.'],
    ['SELECT * FROM 5', 'Encountered " <INTEGER> "5 "" at line 1, column 15.'],
    [
      "SELECT * FROM Customer WHERE Id = '1' OR Id = '2'",
      'Encountered " "or" "OR "" at line 1, column 39.',
    ],
    ['SELECT * FROM Customer WHERE', 'Encountered "<EOF>" at line 1, column 29.'],
    ['SELECT * FROM Customer WHERE Active', 'Encountered "<EOF>" at line 1, column 36.'],
    ['SELECT * FROM Customer WHERE Active = ', 'Encountered "<EOF>" at line 1, column 39.'],
    [
      'SELECT * FROM Customer WHERE DisplayName LIKE 5',
      'Encountered " <INTEGER> "5 "" at line 1, column 47.',
    ],
    [
      "SELECT * FROM Customer WHERE Id IN '1'",
      'Encountered " <STRING> "\'1\' "" at line 1, column 36.',
    ],
    ["SELECT * FROM Customer WHERE Id IN ('1'", 'Encountered "<EOF>" at line 1, column 40.'],
    [
      'SELECT * FROM Customer WHERE (Active = true)',
      'Encountered " "(" "( "" at line 1, column 30.',
    ],
    [
      'SELECT * FROM Customer MAXRESULTS ten',
      'Encountered " <IDENTIFIER> "ten "" at line 1, column 35.',
    ],
    [
      'SELECT * FROM Customer MAXRESULTS 1.5',
      'Encountered " <DECIMAL> "1.5 "" at line 1, column 35.',
    ],
    [
      'SELECT * FROM Customer MAXRESULTS 5 MAXRESULTS 6',
      'Encountered " "maxresults" "MAXRESULTS "" at line 1, column 37.',
    ],
    ['SELECT * FROM Customer ORDERBY', 'Encountered "<EOF>" at line 1, column 31.'],
    [
      'SELECT * FROM Customer ORDER DisplayName',
      'Encountered " <IDENTIFIER> "DisplayName "" at line 1, column 30.',
    ],
    [
      'SELECT * FROM Customer GROUP BY Id',
      'Encountered " <IDENTIFIER> "GROUP "" at line 1, column 24.',
    ],
    ['SELECT * FROM Customer;', 'Lexical error at line 1, column 23.'],
    ['SELECT * FROM Customer WHERE DisplayName = "Bob"', 'Lexical error at line 1, column 44.'],
    ["SELECT * FROM Customer WHERE DisplayName = 'Bob", 'Lexical error at line 1, column 44.'],
    ['SELECT COUNT(Id) FROM Customer', 'Encountered " <IDENTIFIER> "Id "" at line 1, column 14.'],
  ];
  it.each(cases)('%j is a 4000 "Error parsing query" that says where', (text, where) => {
    const e = parseError(text);
    expect(e.code).toBe('4000');
    expect(e.Message).toBe('Error parsing query');
    expect(e.Detail.startsWith('QueryParserError: ')).toBe(true);
    expect(e.Detail).toContain(where);
  });
});

describe('query date literals', () => {
  it('reads offsets, Z, and company-local times without an offset', () => {
    expect(parseInstant('2015-10-07T11:43:20-07:00', 0)).toBe(Date.parse('2015-10-07T18:43:20Z'));
    expect(parseInstant('2015-10-07T18:43:20Z', -420)).toBe(Date.parse('2015-10-07T18:43:20Z'));
    expect(parseInstant('2015-10-07T11:43:20', -420)).toBe(Date.parse('2015-10-07T18:43:20Z'));
    expect(parseInstant('2015-10-07', -420)).toBe(Date.parse('2015-10-07T07:00:00Z'));
  });

  it('reads a "+" offset that URL decoding turned into a space', () => {
    expect(parseInstant('2024-01-01T10:00:00 02:00', 0)).toBe(Date.parse('2024-01-01T08:00:00Z'));
  });

  it('rejects what is not a date', () => {
    expect(parseInstant('yesterday', 0)).toBeNaN();
    expect(parseInstant('2024-13-01', 0)).toBeNaN();
  });
});
