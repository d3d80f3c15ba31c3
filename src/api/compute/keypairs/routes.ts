/**
 * os-keypairs: a user's key pairs, by name. A create either imports the public key it is given or (before
 * 2.92) generates a pair and answers with its private key, which is not kept. Admins act for another
 * user with `user_id` (2.10); anyone else may only name themselves. Status codes follow the version:
 * create 200 then 201 from 2.2, delete 202 then 204 from 2.2.
 */
import type { FastifyRequest } from 'fastify';
import { authorize } from '../../policy.ts';
import { generateKeyPairMaterial, keyFingerprint } from '../../../common/keys/key-pair-material.ts';
import { createKeyPair, deleteKeyPair, getKeyPair, listKeyPairs } from '../../../objects/key-pairs.ts';
import type { ApiServer } from '../../http/create-server.ts';
import type { ComputeApiDeps } from '../deps.ts';
import { keypairPayload, type KeypairFields } from '../notifications/payloads.ts';
import { atLeast } from '../microversion.ts';
import { collectionLinks, pageParams } from '../pagination.ts';
import { checkKeyPairQuota } from '../quotas/enforce.ts';
import { queryValues, validateBody, type Query } from '../validate.ts';
import { checkKeyPairQuery, createKeyPairSchema, type CreateKeyPairBody } from './schemas.ts';
import { keyPairCreated, keyPairDetail, keyPairListItem } from './view.ts';

type Action = 'create' | 'index' | 'show' | 'delete';

/**
 * The user whose key pairs a request acts on: the one it names (from 2.10; the first `user_id` of a
 * query, as Nova reads it) or the caller, if the action's rule allows the caller on that user (by
 * default admins on anyone, others on themselves).
 */
function owner(request: FastifyRequest, action: Action, named: string | undefined): string {
  const userId = (atLeast(request, '2.10') ? named : undefined) || (request.ctx.userId ?? '');
  authorize(request.ctx, `os_compute_api:os-keypairs:${action}`, { user_id: userId });
  return userId;
}

const queryUser = (request: FastifyRequest) => queryValues(request.query as Query, 'user_id')[0];

export function registerKeyPairRoutes(app: ApiServer, deps: ComputeApiDeps): void {
  const db = deps.database.db;
  const maxLimit = deps.config.DEFAULT.osapi_max_limit;
  type Params = { Params: { name: string } };
  const notify = (request: FastifyRequest, event: string, fields: KeypairFields) =>
    deps.notifications.send(request.ctx, event, () => keypairPayload(fields));

  app.get('/os-keypairs', async (request) => {
    checkKeyPairQuery(request, true);
    const userId = owner(request, 'index', queryUser(request));
    const paged = atLeast(request, '2.35');
    const page = paged ? pageParams(request.query as Query, maxLimit) : {};
    const keyPairs = await listKeyPairs(db, userId, page);
    const body: Record<string, unknown> = { keypairs: keyPairs.map((k) => ({ keypair: keyPairListItem(request, k) })) };
    if (paged) {
      const links = collectionLinks(request, keyPairs.length, keyPairs.at(-1)?.name, 'os-keypairs', maxLimit);
      if (links.length) body['keypairs_links'] = links;
    }
    return body;
  });

  app.post('/os-keypairs', async (request, reply) => {
    const { keypair: input } = validateBody<CreateKeyPairBody>(createKeyPairSchema(request), request.body);
    const userId = owner(request, 'create', input.user_id);
    const name = input.name.trim();
    const type = input.type ?? 'ssh';
    // Nova checks the quota before the key is read or generated, and again once it is stored.
    await checkKeyPairQuota(db, deps.config, request.ctx, userId, 1);
    let publicKey: string;
    let fingerprint: string;
    let privateKey: string | null = null;
    // Nova's event: keypair.import for a key given, keypair.create for one it generates.
    const event = input.public_key !== undefined ? 'keypair.import' : 'keypair.create';
    const given = input.public_key ?? null;
    notify(request, `${event}.start`, { user_id: userId, name, type, fingerprint: null, public_key: given });
    if (input.public_key !== undefined) {
      publicKey = input.public_key;
      fingerprint = keyFingerprint(type, publicKey);
    } else {
      const generated = await generateKeyPairMaterial(type, userId);
      ({ publicKey, fingerprint, privateKey } = generated);
    }
    const keyPair = await createKeyPair(db, { name, userId, type, publicKey, fingerprint });
    if (deps.config.quota.recheck_quota) {
      await checkKeyPairQuota(db, deps.config, request.ctx, userId, 0).catch(async (err: unknown) => {
        await deleteKeyPair(db, userId, name);
        throw err;
      });
    }
    notify(request, `${event}.end`, { user_id: userId, name, type, fingerprint, public_key: publicKey });
    void reply.code(atLeast(request, '2.2') ? 201 : 200);
    return { keypair: keyPairCreated(request, keyPair, privateKey) };
  });

  app.get<Params>('/os-keypairs/:name', async (request) => {
    checkKeyPairQuery(request, false);
    const userId = owner(request, 'show', queryUser(request));
    return { keypair: keyPairDetail(request, await getKeyPair(db, userId, request.params.name)) };
  });

  app.delete<Params>('/os-keypairs/:name', async (request, reply) => {
    checkKeyPairQuery(request, false);
    const userId = owner(request, 'delete', queryUser(request));
    // Nova reads the key pair first (a 404 sends nothing) and reports it as it was.
    const keyPair = deps.notifications.enabled ? await getKeyPair(db, userId, request.params.name) : null;
    const fields = keyPair && {
      user_id: keyPair.user_id,
      name: keyPair.name,
      type: keyPair.type,
      fingerprint: keyPair.fingerprint,
      public_key: keyPair.public_key,
    };
    if (fields) notify(request, 'keypair.delete.start', fields);
    await deleteKeyPair(db, userId, request.params.name);
    if (fields) notify(request, 'keypair.delete.end', fields);
    void reply.code(atLeast(request, '2.2') ? 204 : 202);
  });
}
