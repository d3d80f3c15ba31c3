/** The tokens a request names: its own (X-Auth-Token) and the one it asks about (X-Subject-Token). */
import type { FastifyRequest } from 'fastify';
import { BadRequest, NotFound, Unauthorized } from '../../common/errors.ts';
import type { TokenInfo, TokenService } from '../auth/token-service.ts';

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The caller's own token in full; authentication has validated it, so this is a cache hit. */
export function callerToken(request: FastifyRequest, tokens: TokenService): Promise<TokenInfo> {
  return tokens.validate(header(request, 'x-auth-token') ?? '');
}

export function subjectTokenId(request: FastifyRequest): string {
  const subject = header(request, 'x-subject-token');
  if (!subject) throw new BadRequest('The X-Subject-Token header is required.');
  return subject;
}

/** Validates the subject token; an invalid one is a 404, which keystonemiddleware reads as "invalid". */
export async function subjectToken(request: FastifyRequest, tokens: TokenService): Promise<TokenInfo> {
  try {
    return await tokens.validate(subjectTokenId(request));
  } catch (err) {
    if (err instanceof Unauthorized) throw new NotFound('Could not find token.');
    throw err;
  }
}
