/**
 * The wire format of RPC messages, shared by client and server whatever the transport. A request carries
 * the caller's context (so one request id can be followed through every service's logs) and the version
 * of its topic's contract it is written in (src/wire/contract.ts; the server checks it can read it); a
 * call's request adds msg_id and reply_to, and the reply answers to that msg_id.
 */
import { Type, type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import type { RequestContext } from '../context.ts';

/**
 * The version of the reply format (and of requests sent outside any contract). Bumped in its major part
 * if a change would make an older side misread a reply.
 */
export const ENVELOPE_VERSION = '1.0';

const ContextSchema = Type.Object({
  requestId: Type.String(),
  userId: Type.Union([Type.String(), Type.Null()]),
  projectId: Type.Union([Type.String(), Type.Null()]),
  roles: Type.Array(Type.String()),
  isAdmin: Type.Boolean(),
});

const RequestSchema = Type.Object({
  /** The contract version of the message; always sent, read as BASE_VERSION if absent. */
  version: Type.Optional(Type.String()),
  method: Type.String(),
  args: Type.Unknown(),
  context: ContextSchema,
  msg_id: Type.Optional(Type.String()),
  reply_to: Type.Optional(Type.String()),
});

export const FailureSchema = Type.Object({
  class: Type.String(),
  message: Type.String(),
  trace: Type.String(),
  status: Type.Number(),
});

const ReplySchema = Type.Object({
  version: Type.String(),
  msg_id: Type.String(),
  result: Type.Optional(Type.Unknown()),
  failure: Type.Optional(FailureSchema),
});

export type RequestMessage = Static<typeof RequestSchema>;
export type ReplyMessage = Static<typeof ReplySchema>;
export type Failure = Static<typeof FailureSchema>;

const checkRequest = Compile(RequestSchema);
const checkReply = Compile(ReplySchema);

export function encodeRequest(
  ctx: RequestContext,
  method: string,
  args: object,
  call?: { msgId: string; replyTo: string },
  version: string = ENVELOPE_VERSION,
): string {
  // Only the context's own fields travel, whatever else the caller's object carries.
  const context = {
    requestId: ctx.requestId,
    userId: ctx.userId,
    projectId: ctx.projectId,
    roles: [...ctx.roles],
    isAdmin: ctx.isAdmin,
  };
  const message: RequestMessage = { version, method, args, context };
  if (call) {
    message.msg_id = call.msgId;
    message.reply_to = call.replyTo;
  }
  return JSON.stringify(message);
}

export function encodeReply(msgId: string, outcome: { result: unknown } | { failure: Failure }): string {
  return JSON.stringify({ version: ENVELOPE_VERSION, msg_id: msgId, ...outcome });
}

export type Decoded<T> = { ok: true; message: T } | { ok: false; problem: string; raw: unknown };

function decode<T extends { version?: string }>(
  body: string,
  check: (value: unknown) => value is T,
  errors: (value: unknown) => { instancePath: string; message: string }[],
  checkVersion: boolean,
): Decoded<T> {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch (err) {
    return { ok: false, problem: `not JSON: ${(err as Error).message}`, raw: undefined };
  }
  if (!check(raw)) {
    const first = errors(raw)[0];
    return { ok: false, problem: first ? `${first.instancePath || '/'} ${first.message}` : 'malformed', raw };
  }
  const version = raw.version ?? ENVELOPE_VERSION;
  if (checkVersion && version.split('.')[0] !== ENVELOPE_VERSION.split('.')[0]) {
    return { ok: false, problem: `envelope version ${version}, this side speaks ${ENVELOPE_VERSION}`, raw };
  }
  return { ok: true, message: raw };
}

/** A request's version is its contract's: the server checks it against its own (rpc-server.ts). */
export function decodeRequest(body: string): Decoded<RequestMessage> {
  return decode(
    body,
    (v) => checkRequest.Check(v),
    (v) => checkRequest.Errors(v),
    false,
  );
}

export function decodeReply(body: string): Decoded<ReplyMessage> {
  return decode(
    body,
    (v) => checkReply.Check(v),
    (v) => checkReply.Errors(v),
    true,
  );
}
