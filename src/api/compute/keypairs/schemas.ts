/**
 * Request schemas of os-keypairs, per microversion as Nova's: `type` from 2.2, `user_id` (admins acting
 * for another user) from 2.10; from 2.92 the server no longer generates keys (`public_key` is required)
 * and names may also hold `@` and `.`. Query parameters: `user_id` from 2.10, `limit`/`marker` on the
 * list from 2.35, and from 2.75 any other parameter is refused.
 */
import type { FastifyRequest } from 'fastify';
import { Type, type TSchema } from 'typebox';
import { BadRequest } from '../../../common/errors.ts';
import { KEY_PAIR_TYPES, type KeyPairType } from '../../../common/keys/key-pair-material.ts';
import { atLeast } from '../microversion.ts';
import { Name } from '../schema-types.ts';
import type { Query } from '../validate.ts';

export interface CreateKeyPairBody {
  keypair: { name: string; public_key?: string; type?: KeyPairType; user_id?: string };
}

/** A name as every compute name (printable, no blanks at either end) and of the characters Nova allows. */
function keyPairName(pattern: string): TSchema {
  return Type.Unsafe<string>({ allOf: [Name, { type: 'string', pattern, minLength: 1, maxLength: 255 }] });
}

const NAME_V21 = keyPairName('^[_\\- a-zA-Z0-9]+$');
const NAME_V292 = keyPairName('^[_\\-@. a-zA-Z0-9]+$');

function createSchema(fields: Record<string, TSchema>, required: string[]): TSchema {
  return Type.Unsafe({
    type: 'object',
    properties: {
      keypair: {
        type: 'object',
        properties: { public_key: Type.String(), ...fields },
        required,
        additionalProperties: false,
      },
    },
    required: ['keypair'],
    additionalProperties: false,
  });
}

const KeyType = Type.Unsafe<KeyPairType>({ type: 'string', enum: [...KEY_PAIR_TYPES] });
const CREATE_V21 = createSchema({ name: NAME_V21 }, ['name']);
const CREATE_V22 = createSchema({ name: NAME_V21, type: KeyType }, ['name']);
const CREATE_V210 = createSchema({ name: NAME_V21, type: KeyType, user_id: Type.String() }, ['name']);
const CREATE_V292 = createSchema({ name: NAME_V292, type: KeyType, user_id: Type.String() }, ['name', 'public_key']);

export function createKeyPairSchema(request: FastifyRequest): TSchema {
  if (atLeast(request, '2.92')) return CREATE_V292;
  if (atLeast(request, '2.10')) return CREATE_V210;
  if (atLeast(request, '2.2')) return CREATE_V22;
  return CREATE_V21;
}

/** The query parameters a route knows at the request's version; from 2.75 others are a 400. */
export function checkKeyPairQuery(request: FastifyRequest, paging: boolean): void {
  if (!atLeast(request, '2.75')) return;
  const known = paging ? ['user_id', 'limit', 'marker'] : ['user_id'];
  const unknown = Object.keys(request.query as Query).find((name) => !known.includes(name));
  if (unknown !== undefined) {
    throw new BadRequest(
      `Invalid input for query parameters. Additional properties are not allowed ('${unknown}' was unexpected)`,
    );
  }
}
