import { Faults } from '../core/faults.ts';

/**
 * Tokens of QBO's query language. QBO's parser is JavaCC-generated: its syntax errors read
 * `QueryParserError: Encountered " <IDENTIFIER> "TxnDate "" at line 1, column 29.`, so every
 * token keeps the JavaCC kind name and its 1-based line and column to rebuild that message.
 */
export type TokenKind = 'KEYWORD' | 'IDENTIFIER' | 'STRING' | 'INTEGER' | 'DECIMAL' | 'OP' | 'EOF';

export interface Token {
  kind: TokenKind;
  /** Keywords are lowercased; strings are unescaped; others are the source text. */
  value: string;
  /** The exact source text. */
  image: string;
  line: number;
  column: number;
}

/** Keywords are case-insensitive (node-quickbooks sends `select * from customer`). */
export const KEYWORDS = new Set([
  'select',
  'count',
  'from',
  'where',
  'and',
  'or',
  'not',
  'in',
  'like',
  'orderby',
  'order',
  'by',
  'asc',
  'desc',
  'startposition',
  'maxresults',
  'true',
  'false',
]);

const OPERATORS = ['<=', '>=', '!=', '<>', '=', '<', '>', '(', ')', ',', '*'];

const isIdentStart = (c: string): boolean => /[A-Za-z_]/.test(c);
const isIdentPart = (c: string): boolean => /[A-Za-z0-9_]/.test(c);
const isDigit = (c: string): boolean => c >= '0' && c <= '9';

/** The JavaCC rendering of one token, as QBO prints it after "Encountered". */
export function describeToken(t: Token): string {
  if (t.kind === 'EOF') return '"<EOF>"';
  const image = t.image.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
  const kind = t.kind === 'KEYWORD' || t.kind === 'OP' ? `"${t.value}"` : `<${t.kind}>`;
  return `" ${kind} "${image} ""`;
}

export function unexpected(t: Token): never {
  throw Faults.queryParserError(
    `Encountered ${describeToken(t)} at line ${t.line}, column ${t.column}.`,
  );
}

/**
 * Splits a query into tokens. Strings are single-quoted; a backslash escapes the next
 * character (Intuit blog "Deep dive into QuickBooks Online data queries": "Use backslash
 * (\) to escape special characters", e.g. `'Amy\'s Bird Sanctuary'`, rec get/display_name).
 */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === '\n') {
      i += 1;
      line += 1;
      lineStart = i;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f') {
      i += 1;
      continue;
    }
    const column = i - lineStart + 1;
    const start = i;
    if (c === "'") {
      let value = '';
      i += 1;
      let closed = false;
      while (i < n) {
        const d = text[i]!;
        if (d === '\\' && i + 1 < n) {
          value += text[i + 1];
          i += 2;
          continue;
        }
        if (d === "'") {
          closed = true;
          i += 1;
          break;
        }
        if (d === '\n') break;
        value += d;
        i += 1;
      }
      if (!closed) {
        // JavaCC reports an unterminated literal as a lexical error at the opening quote.
        throw Faults.queryParserError(
          `Lexical error at line ${line}, column ${column}.  Encountered: <EOF> after : "${text.slice(start, i).replace(/"/g, '\\"')}"`,
        );
      }
      tokens.push({ kind: 'STRING', value, image: text.slice(start, i), line, column });
      continue;
    }
    if (isDigit(c) || ((c === '-' || c === '+') && i + 1 < n && isDigit(text[i + 1]!))) {
      i += 1;
      while (i < n && isDigit(text[i]!)) i += 1;
      let kind: TokenKind = 'INTEGER';
      if (text[i] === '.' && i + 1 < n && isDigit(text[i + 1]!)) {
        kind = 'DECIMAL';
        i += 1;
        while (i < n && isDigit(text[i]!)) i += 1;
      }
      const image = text.slice(start, i);
      tokens.push({ kind, value: image, image, line, column });
      continue;
    }
    if (isIdentStart(c)) {
      i += 1;
      // Dotted properties (`MetaData.LastUpdatedTime`, `BillAddr.City`) are one identifier.
      while (
        i < n &&
        (isIdentPart(text[i]!) || (text[i] === '.' && isIdentStart(text[i + 1] ?? '')))
      )
        i += 1;
      const image = text.slice(start, i);
      const lower = image.toLowerCase();
      if (KEYWORDS.has(lower)) tokens.push({ kind: 'KEYWORD', value: lower, image, line, column });
      else tokens.push({ kind: 'IDENTIFIER', value: image, image, line, column });
      continue;
    }
    const op = OPERATORS.find((o) => text.startsWith(o, i));
    if (op) {
      i += op.length;
      tokens.push({ kind: 'OP', value: op, image: op, line, column });
      continue;
    }
    throw Faults.queryParserError(
      `Lexical error at line ${line}, column ${column}.  Encountered: "${c.replace(/"/g, '\\"')}" (${c.charCodeAt(0)}), after : ""`,
    );
  }
  tokens.push({ kind: 'EOF', value: '', image: '', line, column: i - lineStart + 1 });
  return tokens;
}
