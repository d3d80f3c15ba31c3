/**
 * What an RPC server serves: named endpoints, each with a typebox schema for its args. The server checks
 * args against the schema before the handler runs, so a handler can trust their shape.
 */
import type { Static, TSchema } from 'typebox';
import type { RequestContext } from '../context.ts';
import type { RpcVersion } from './version.ts';

export interface RpcEndpoint {
  readonly args: TSchema;
  /** Run on the args before they are validated (e.g. to read versioned payloads); may throw to refuse them. */
  readonly prepare?: (args: unknown) => unknown;
  /**
   * `args` has been validated against `this.args`; `version` is the contract version the message is
   * written in (the base version if it carries none). Must be idempotent: a message can arrive twice.
   */
  handler(ctx: RequestContext, args: unknown, version: RpcVersion): Promise<unknown>;
}

export type RpcEndpoints = Record<string, RpcEndpoint>;

/** Declares an endpoint with `args` typed from its schema: `endpoint(Type.Object({ id: Type.String() }), async (ctx, { id }) => ...)`. */
export function endpoint<S extends TSchema>(
  args: S,
  handler: (ctx: RequestContext, args: Static<S>) => Promise<unknown>,
): RpcEndpoint {
  // The cast is what the server's validation against `args` guarantees.
  return { args, handler: (ctx, value) => handler(ctx, value as Static<S>) };
}
