import type { FastifyInstance } from 'fastify';
import type { SandboxContext } from '../core/context.ts';
import type { AppRecord } from '../core/state.ts';
import {
  badRequest,
  conflict,
  type Json,
  jsonBody,
  notFound,
  onlyKeys,
  optEnum,
  optString,
  optStringArray,
  urlProblem,
} from './validate.ts';

const FORMATS = ['legacy', 'cloudevents'] as const;
const entityProblem = (s: string): string | undefined =>
  /^[A-Za-z]+$/.test(s) ? undefined : `"${s}" is not an entity name such as Invoice`;

/** Fields that may be set at creation and changed later. */
function mutableFields(body: Json): Partial<AppRecord> {
  const out: Partial<AppRecord> = {};
  const name = optString(body, 'name', { maxLength: 200 });
  if (name) out.name = name;
  const redirectUris = optStringArray(body, 'redirectUris', { nonEmpty: true, each: urlProblem });
  if (redirectUris) out.redirectUris = redirectUris;
  if (body.webhookUrl !== null) {
    const webhookUrl = optString(body, 'webhookUrl');
    if (webhookUrl) {
      const problem = urlProblem(webhookUrl);
      if (problem) throw badRequest(`webhookUrl: ${problem}`);
      out.webhookUrl = webhookUrl;
    }
  }
  const webhookFormat = optEnum(body, 'webhookFormat', FORMATS);
  if (webhookFormat) out.webhookFormat = webhookFormat;
  const verifierToken = optString(body, 'verifierToken', { maxLength: 200 });
  if (verifierToken) out.verifierToken = verifierToken;
  const clientSecret = optString(body, 'clientSecret', { maxLength: 200 });
  if (clientSecret) out.clientSecret = clientSecret;
  if (body.webhookEntities !== null) {
    const webhookEntities = optStringArray(body, 'webhookEntities', { each: entityProblem });
    if (webhookEntities) out.webhookEntities = webhookEntities;
  }
  return out;
}

const MUTABLE = [
  'name',
  'redirectUris',
  'webhookUrl',
  'webhookFormat',
  'verifierToken',
  'clientSecret',
  'webhookEntities',
] as const;

/** `/_sandbox/apps`: the apps a developer would register on developer.intuit.com. */
export function registerAppRoutes(app: FastifyInstance, ctx: SandboxContext): void {
  const { state } = ctx;
  const find = (clientId: string): AppRecord => {
    const a = state.apps.get(clientId);
    if (!a) throw notFound(`no app with clientId ${clientId}`);
    return a;
  };

  app.post('/_sandbox/apps', async (req, reply) => {
    const body = jsonBody(req);
    onlyKeys(body, [...MUTABLE, 'clientId']);
    if (body.redirectUris === undefined)
      throw badRequest('redirectUris is required: the OAuth redirect URIs the app may use');
    const fields = mutableFields(body);
    const clientId = optString(body, 'clientId', {
      pattern: /^[A-Za-z0-9_-]{1,128}$/,
      patternHint: 'must be 1 to 128 letters, digits, "-" or "_"',
    });
    if (clientId && state.apps.has(clientId))
      throw conflict(`an app with clientId ${clientId} already exists`);
    const record = state.registerApp({
      ...fields,
      redirectUris: fields.redirectUris!,
      ...(clientId ? { clientId } : {}),
    });
    return reply.status(201).send(record);
  });

  app.get('/_sandbox/apps', async () => ({ apps: [...state.apps.values()] }));

  app.get<{ Params: { clientId: string } }>('/_sandbox/apps/:clientId', async (req) =>
    find(req.params.clientId),
  );

  app.patch<{ Params: { clientId: string } }>('/_sandbox/apps/:clientId', async (req) => {
    const record = find(req.params.clientId);
    const body = jsonBody(req);
    if (body.clientId !== undefined) throw badRequest('clientId cannot be changed');
    onlyKeys(body, MUTABLE);
    Object.assign(record, mutableFields(body));
    // null removes an optional setting (stop webhooks, notify every entity again).
    if (body.webhookUrl === null) delete record.webhookUrl;
    if (body.webhookEntities === null) delete record.webhookEntities;
    return record;
  });
}
