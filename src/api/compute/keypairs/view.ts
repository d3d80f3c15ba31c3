/**
 * Key pair bodies as Nova's view builder makes them: the list shows name, public key and fingerprint; a
 * create adds the owner (and, once, the private key of a generated pair); a show adds the record's id
 * and times, with the soft-delete fields Nova shows but never fills. `type` is shown from 2.2.
 */
import type { FastifyRequest } from 'fastify';
import type { KeyPair } from '../../../objects/key-pairs.ts';
import { atLeast } from '../microversion.ts';
import { naiveTime } from '../timestamps.ts';

function withType(request: FastifyRequest, keyPair: KeyPair, body: Record<string, unknown>): Record<string, unknown> {
  if (atLeast(request, '2.2')) body['type'] = keyPair.type;
  return body;
}

export function keyPairListItem(request: FastifyRequest, keyPair: KeyPair): Record<string, unknown> {
  return withType(request, keyPair, {
    name: keyPair.name,
    public_key: keyPair.public_key,
    fingerprint: keyPair.fingerprint,
  });
}

export function keyPairCreated(
  request: FastifyRequest,
  keyPair: KeyPair,
  privateKey: string | null,
): Record<string, unknown> {
  const body = { ...keyPairListItem(request, keyPair), user_id: keyPair.user_id };
  return privateKey === null ? body : { ...body, private_key: privateKey };
}

export function keyPairDetail(request: FastifyRequest, keyPair: KeyPair): Record<string, unknown> {
  return {
    ...keyPairListItem(request, keyPair),
    user_id: keyPair.user_id,
    created_at: naiveTime(keyPair.created_at),
    updated_at: null,
    deleted: false,
    deleted_at: null,
    id: keyPair.id,
  };
}
