/** /v3/auth/tokens: issue (POST), validate (GET, HEAD) and revoke (DELETE) tokens. */
import { Type } from 'typebox';
import type { FastifyRequest } from 'fastify';
import type { ApiServer } from '../../http/create-server.ts';
import type { TokenInfo } from '../../auth/token-service.ts';
import { authenticate, AuthRequestBody } from '../authenticate.ts';
import { authorize } from '../authorize.ts';
import type { CatalogCache } from '../catalog-cache.ts';
import type { IdentityDeps } from '../deps.ts';
import { queryFlag } from '../query.ts';
import { subjectToken, subjectTokenId } from '../subject-token.ts';
import { tokenBody } from '../token-body.ts';

const TokenQuery = Type.Object({ nocatalog: Type.Optional(Type.String()) });

/** The token rules see the subject token's user as `target.token.user_id` (Keystone's token_subject). */
function requireSubjectAccess(request: FastifyRequest, subject: TokenInfo, action: string): void {
  authorize(request, action, { 'target.token.user_id': subject.userId });
}

export function registerTokenRoutes(app: ApiServer, deps: IdentityDeps, catalog: CatalogCache): void {
  const { database, tokens } = deps;

  app.post(
    '/v3/auth/tokens',
    { config: { public: true }, schema: { body: AuthRequestBody, querystring: TokenQuery } },
    async (request, reply) => {
      const issue = await authenticate(
        database.db,
        tokens,
        request.body.auth,
        deps.config.identity.password_hash_rounds,
      );
      const { token, info } = await tokens.issue(issue);
      void reply.code(201).header('x-subject-token', token);
      return tokenBody(info, queryFlag(request.query.nocatalog) ? null : await catalog.forToken(info));
    },
  );

  // HEAD comes with GET (Fastify's exposeHeadRoutes): same checks, empty body, 200.
  app.get('/v3/auth/tokens', { schema: { querystring: TokenQuery } }, async (request, reply) => {
    const subject = await subjectToken(request, tokens);
    requireSubjectAccess(request, subject, request.method === 'HEAD' ? 'check_token' : 'validate_token');
    void reply.header('x-subject-token', subjectTokenId(request));
    return tokenBody(subject, queryFlag(request.query.nocatalog) ? null : await catalog.forToken(subject));
  });

  app.delete('/v3/auth/tokens', async (request, reply) => {
    const subject = await subjectToken(request, tokens);
    requireSubjectAccess(request, subject, 'revoke_token');
    await tokens.revoke(subjectTokenId(request));
    return reply.code(204).send();
  });
}
