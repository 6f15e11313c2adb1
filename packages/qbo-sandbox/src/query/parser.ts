import { tokenize, unexpected, type Token } from './lexer.ts';

/**
 * QBO's select statement (docs "Query operations and syntax"):
 *   SELECT * | count(*) FROM IntuitEntity [WHERE WhereClause] [ORDERBY OrderByClause]
 *   [STARTPOSITION Number] [MAXRESULTS Number]
 * WHERE joins conditions with AND only (no OR, no parentheses); operators are
 * `= < > <= >= IN LIKE`. The recordings put MAXRESULTS before STARTPOSITION
 * (rec all/alt_select-2), so the two paging clauses come in either order.
 */

export type Literal =
  | { type: 'string'; value: string }
  | { type: 'number'; value: number; text: string }
  | { type: 'boolean'; value: boolean };

export type Operator = '=' | '!=' | '<' | '>' | '<=' | '>=' | 'IN' | 'LIKE';

export interface Condition {
  property: string;
  token: Token;
  op: Operator;
  /** One value, or the list of an IN. */
  values: Literal[];
}

export interface OrderItem {
  property: string;
  token: Token;
  desc: boolean;
}

export interface ParsedQuery {
  count: boolean;
  /** Properties named instead of `*` (accepted, but QBO always returns whole objects). */
  projection: Token[];
  entity: string;
  entityToken: Token;
  where: Condition[];
  orderBy: OrderItem[];
  startPosition?: { value: number; token: Token };
  maxResults?: { value: number; token: Token };
}

class Parser {
  private pos = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(): Token {
    return this.tokens[this.pos]!;
  }
  private next(): Token {
    const t = this.tokens[this.pos]!;
    if (t.kind !== 'EOF') this.pos += 1;
    return t;
  }
  private isKeyword(word: string): boolean {
    const t = this.peek();
    return t.kind === 'KEYWORD' && t.value === word;
  }
  private isOp(op: string): boolean {
    const t = this.peek();
    return t.kind === 'OP' && t.value === op;
  }
  private keyword(word: string): Token {
    const t = this.next();
    if (t.kind !== 'KEYWORD' || t.value !== word) unexpected(t);
    return t;
  }
  private op(op: string): Token {
    const t = this.next();
    if (t.kind !== 'OP' || t.value !== op) unexpected(t);
    return t;
  }
  private identifier(): Token {
    const t = this.next();
    if (t.kind !== 'IDENTIFIER') unexpected(t);
    return t;
  }

  parse(): ParsedQuery {
    this.keyword('select');
    let count = false;
    const projection: Token[] = [];
    if (this.isOp('*')) this.next();
    else if (this.isKeyword('count')) {
      this.next();
      this.op('(');
      this.op('*');
      this.op(')');
      count = true;
    } else if (!this.isKeyword('from')) {
      // A property list: Intuit documents projections as unsupported ("the response set
      // always returns all properties"), so the names are checked and then ignored.
      projection.push(this.identifier());
      while (this.isOp(',')) {
        this.next();
        projection.push(this.identifier());
      }
    }
    this.keyword('from');
    const entityToken = this.identifier();
    const query: ParsedQuery = {
      count,
      projection,
      entity: entityToken.value,
      entityToken,
      where: [],
      orderBy: [],
    };
    if (this.isKeyword('where')) {
      this.next();
      query.where.push(this.condition());
      while (this.isKeyword('and')) {
        this.next();
        query.where.push(this.condition());
      }
    }
    if (this.isKeyword('orderby') || this.isKeyword('order')) {
      // `ORDER BY` (two words) is accepted by QBO as well as the documented ORDERBY.
      if (this.next().value === 'order') this.keyword('by');
      query.orderBy.push(this.orderItem());
      while (this.isOp(',')) {
        this.next();
        query.orderBy.push(this.orderItem());
      }
    }
    for (;;) {
      if (this.isKeyword('startposition') && !query.startPosition) {
        this.next();
        query.startPosition = this.integer();
      } else if (this.isKeyword('maxresults') && !query.maxResults) {
        this.next();
        query.maxResults = this.integer();
      } else break;
    }
    const end = this.next();
    if (end.kind !== 'EOF') unexpected(end);
    return query;
  }

  private integer(): { value: number; token: Token } {
    const t = this.next();
    if (t.kind !== 'INTEGER') unexpected(t);
    return { value: Number(t.value), token: t };
  }

  private orderItem(): OrderItem {
    const token = this.identifier();
    let desc = false;
    if (this.isKeyword('asc')) this.next();
    else if (this.isKeyword('desc')) {
      this.next();
      desc = true;
    }
    return { property: token.value, token, desc };
  }

  private literal(): Literal {
    const t = this.next();
    if (t.kind === 'STRING') return { type: 'string', value: t.value };
    if (t.kind === 'INTEGER' || t.kind === 'DECIMAL')
      return { type: 'number', value: Number(t.value), text: t.value };
    if (t.kind === 'KEYWORD' && (t.value === 'true' || t.value === 'false'))
      return { type: 'boolean', value: t.value === 'true' };
    return unexpected(t);
  }

  private condition(): Condition {
    const token = this.identifier();
    const property = token.value;
    const t = this.next();
    if (t.kind === 'KEYWORD' && t.value === 'in') {
      this.op('(');
      const values = [this.literal()];
      while (this.isOp(',')) {
        this.next();
        values.push(this.literal());
      }
      this.op(')');
      return { property, token, op: 'IN', values };
    }
    if (t.kind === 'KEYWORD' && t.value === 'like') {
      const v = this.next();
      if (v.kind !== 'STRING') unexpected(v);
      return { property, token, op: 'LIKE', values: [{ type: 'string', value: v.value }] };
    }
    if (t.kind === 'OP' && ['=', '!=', '<>', '<', '>', '<=', '>='].includes(t.value)) {
      const op = (t.value === '<>' ? '!=' : t.value) as Operator;
      return { property, token, op, values: [this.literal()] };
    }
    return unexpected(t);
  }
}

/** Parses a query or throws QBO's 4000 "Error parsing query" fault naming the bad token. */
export function parseQuery(text: string): ParsedQuery {
  return new Parser(tokenize(text)).parse();
}
