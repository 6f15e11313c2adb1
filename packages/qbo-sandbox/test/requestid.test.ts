import { describe, expect, it } from 'vitest';
import { connect, type Connection, useSandbox } from './sandbox-clients.ts';

// blog 2015-04-06 "Request ID update": a repeated requestid in the same company gets the
// original response without the operation being performed again; at most 50 characters.
const sandbox = useSandbox();
const { control } = sandbox;

const customers = async (c: Connection): Promise<number> =>
  (await control('GET', `/_sandbox/companies/${c.realmId}`)).body.counts.Customer as number;

describe('requestid', () => {
  it('a create repeated with the same requestid returns the same Id and creates one object', async () => {
    const c = await connect(sandbox.url);
    const before = await customers(c);
    const send = () =>
      c.api('/customer?requestid=create-jane-1&minorversion=75', {
        body: { DisplayName: 'Jane Doe' },
      });
    const first = await send();
    const second = await send();
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(second.body.Customer).toEqual(first.body.Customer);
    expect(await customers(c)).toBe(before + 1);
  });

  it('a duplicate sent while the first is still being answered gets the same response', async () => {
    const c = await connect(sandbox.url);
    await control('POST', '/_sandbox/faults', {
      kind: 'latency',
      latencyMs: 400,
      realmId: c.realmId,
      count: 1,
    });
    const body = { DisplayName: 'Slow Co' };
    const first = c.api('/customer?requestid=slow-1', { body });
    await new Promise((r) => setTimeout(r, 100));
    const second = await c.api('/customer?requestid=slow-1', { body });
    const firstRes = await first;
    expect(second.body.Customer.Id).toBe(firstRes.body.Customer.Id);
    expect(second.body.Customer).toEqual(firstRes.body.Customer);
    const list = await c.api(
      `/query?query=${encodeURIComponent("select * from Customer where DisplayName = 'Slow Co'")}`,
    );
    expect(list.body.QueryResponse.Customer).toHaveLength(1);
  });

  it('a validation fault is replayed for the same requestid even once its cause is gone', async () => {
    const c = await connect(sandbox.url);
    const taken = await c.api('/customer', { body: { DisplayName: 'Taken Name' } });
    expect(taken.status).toBe(200);
    const dup = () => c.api('/customer?requestid=dup-1', { body: { DisplayName: 'Taken Name' } });
    const first = await dup();
    expect(first.status).toBe(400);
    expect(first.body.Fault.Error[0].code).toBe('6240');

    // Rename the existing customer: a fresh attempt would now succeed…
    const renamed = await c.api('/customer', {
      body: {
        Id: taken.body.Customer.Id,
        SyncToken: taken.body.Customer.SyncToken,
        sparse: true,
        DisplayName: 'Other Name',
      },
    });
    expect(renamed.status).toBe(200);
    // …but the same requestid answers what it answered the first time.
    const replay = await dup();
    expect(replay.status).toBe(400);
    expect(replay.body.Fault).toEqual(first.body.Fault);
    const fresh = await c.api('/customer?requestid=dup-2', { body: { DisplayName: 'Taken Name' } });
    expect(fresh.status).toBe(200);
  });

  it('a requestid longer than 50 characters is refused with fault 6000 and nothing is created', async () => {
    const c = await connect(sandbox.url);
    const before = await customers(c);
    const id = 'x'.repeat(51);
    const res = await c.api(`/customer?requestid=${id}`, { body: { DisplayName: 'Too Long' } });
    expect(res.status).toBe(400);
    expect(res.body.Fault).toEqual({
      Error: [
        {
          Message: 'A business validation error has occurred while processing your request',
          Detail:
            'Business Validation Error: You cannot enter more than 50 characters in the request_id field. You tried entering xxxxxxxxxx..., which is 51 characters.',
          code: '6000',
        },
      ],
      type: 'ValidationFault',
    });
    expect(await customers(c)).toBe(before);
    const fifty = await c.api(`/customer?requestid=${'y'.repeat(50)}`, {
      body: { DisplayName: 'Fits' },
    });
    expect(fifty.status).toBe(200);
  });

  it('requestids are per company: the same one in another company does the work there', async () => {
    const a = await connect(sandbox.url);
    const b = await connect(sandbox.url, { clientId: a.clientId, clientSecret: a.clientSecret });
    const body = { DisplayName: 'Shared Request' };
    const ra = await a.api('/customer?requestid=shared-1', { body });
    const rb = await b.api('/customer?requestid=shared-1', { body });
    expect(ra.status).toBe(200);
    expect(rb.status).toBe(200);
    expect(await customers(b)).toBeGreaterThan(0);
    const inB = await b.api(`/customer/${rb.body.Customer.Id}`);
    expect(inB.body.Customer.DisplayName).toBe('Shared Request');
  });

  it('an empty requestid= (as qbo_api sends it, rec create/customer) does not make writes replay', async () => {
    const c = await connect(sandbox.url);
    const one = await c.api('/customer?requestid=', { body: { DisplayName: 'Empty One' } });
    const two = await c.api('/customer?requestid=', { body: { DisplayName: 'Empty Two' } });
    expect(one.status).toBe(200);
    expect(two.status).toBe(200);
    expect(two.body.Customer.Id).not.toBe(one.body.Customer.Id);
  });

  it('after a lost response, retrying with the same requestid returns the original result instead of a duplicate', async () => {
    const c = await connect(sandbox.url);
    await control('POST', '/_sandbox/faults', {
      kind: 'drop-response',
      realmId: c.realmId,
      path: '/invoice',
      count: 1,
    });
    const customer = await c.api('/customer', { body: { DisplayName: 'Lost Response Co' } });
    const account = await c.api('/account', { body: { Name: 'Sales', AccountType: 'Income' } });
    const item = await c.api('/item', {
      body: {
        Name: 'Design',
        Type: 'Service',
        IncomeAccountRef: { value: account.body.Account.Id },
      },
    });
    expect(item.status).toBe(200);
    const invoice = {
      CustomerRef: { value: customer.body.Customer.Id },
      Line: [
        {
          Amount: 100.0,
          DetailType: 'SalesItemLineDetail',
          SalesItemLineDetail: { ItemRef: { value: item.body.Item.Id } },
        },
      ],
    };
    await expect(c.api('/invoice?requestid=inv-lost-1', { body: invoice })).rejects.toThrow();
    const retry = await c.api('/invoice?requestid=inv-lost-1', { body: invoice });
    expect(retry.status).toBe(200);
    const all = await c.api(`/query?query=${encodeURIComponent('select * from Invoice')}`);
    expect(all.body.QueryResponse.Invoice.map((i: any) => i.Id)).toEqual([retry.body.Invoice.Id]);
  });
});
