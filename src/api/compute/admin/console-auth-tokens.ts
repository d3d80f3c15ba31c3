/**
 * GET /os-console-auth-tokens/{token} (admin): where a console token leads, for an operator checking a
 * console URL. Nova answers only from 2.31 (before, only the removed rdp-html5 consoles had tokens, and it
 * answers 400). Tokens are stored hashed, so the lookup is by the hash of the one given; an unknown,
 * used or expired token is a 404. Reading does not use the token up.
 */
import { BadRequest, NotFound } from '../../../common/errors.ts';
import { findConsoleToken } from '../../../objects/console-auth-tokens.ts';
import type { ApiServer } from '../../http/create-server.ts';
import { authorize } from '../../policy.ts';
import type { ComputeApiDeps } from '../deps.ts';
import { atLeast } from '../microversion.ts';

export function registerConsoleAuthTokenRoutes(app: ApiServer, deps: ComputeApiDeps): void {
  app.get<{ Params: { token: string } }>('/os-console-auth-tokens/:token', async (request) => {
    if (!atLeast(request, '2.31')) {
      throw new BadRequest(
        'The server could not comply with the request since it is either malformed or otherwise incorrect.',
      );
    }
    authorize(request.ctx, 'os_compute_api:os-console-auth-tokens');
    const connection = await findConsoleToken(deps.database.db, request.params.token);
    if (!connection) throw new NotFound('Token not found');
    return {
      console: {
        instance_uuid: connection.instanceUuid,
        host: connection.host,
        port: connection.port,
        // The proxy connects to the host's VNC port itself: no path behind it (Nova's noVNC tokens have none).
        internal_access_path: null,
      },
    };
  });
}
