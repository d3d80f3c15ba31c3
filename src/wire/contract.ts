/**
 * An RPC contract: for each method of a service's topic, its name, whether it is a cast or a call, the
 * schema of its args and (for a call) of its reply, and the contract version that introduced it (Nova's
 * rpcapi.py version history, written as data). Both sides are derived from it: `serveContract` binds the
 * callee's handlers, typed from the schemas, and `ContractClient` sends, so a misspelt method, a wrong
 * argument or a cast used as a call does not compile, and a reply that does not match its schema is an
 * `InvalidRpcReply` naming the method.
 *
 * Versions (rolling upgrades): each message carries the version of the contract it is written in. A client
 * is capped at what its peers speak (`[upgrade_levels]`, see upgrade-levels.ts): a method newer than the
 * cap is refused before sending, and args whose shape changed after the cap are backported. A server
 * refuses a message newer than its own contract, naming both versions.
 */
import type { Static, TSchema } from 'typebox';
import { Compile, type Validator } from 'typebox/compile';
import type { RequestContext } from '../common/context.ts';
import {
  compareVersions,
  InvalidRpcReply,
  UnsupportedRpcVersion,
  type RpcClient,
  type RpcEndpoints,
  type RpcVersion,
  type Target,
} from '../common/rpc/index.ts';
import { acceptPayloads, backportPayloads, checkPayloadsCarried, payloadsContractVersion } from './payload.ts';

/** A change of a method's args at `version`; `backport` rewrites args of that version as the one before read them. */
export interface ArgsRevision {
  readonly version: RpcVersion;
  backport(args: Record<string, unknown>): Record<string, unknown>;
}

interface MethodBase<A extends TSchema> {
  readonly args: A;
  /** The contract version that introduced the method. */
  readonly since: RpcVersion;
  /** Later changes of its args, oldest first. */
  readonly revisions: readonly ArgsRevision[];
}
export interface CastMethod<A extends TSchema = TSchema> extends MethodBase<A> {
  readonly kind: 'cast';
}
export interface CallMethod<A extends TSchema = TSchema, R extends TSchema = TSchema> extends MethodBase<A> {
  readonly kind: 'call';
  readonly reply: R;
}
export type MethodSpec = CastMethod | CallMethod;
export type Methods = Record<string, MethodSpec>;

export function cast<A extends TSchema>(since: RpcVersion, args: A, revisions: ArgsRevision[] = []): CastMethod<A> {
  return { kind: 'cast', since, args, revisions };
}

export function call<A extends TSchema, R extends TSchema>(
  since: RpcVersion,
  args: A,
  reply: R,
  revisions: ArgsRevision[] = [],
): CallMethod<A, R> {
  return { kind: 'call', since, args, reply, revisions };
}

export interface Contract<M extends Methods> {
  /** The topic the service's servers listen on. */
  readonly topic: string;
  /** The newest version: what this release's servers read and its clients send when uncapped. */
  readonly version: RpcVersion;
  readonly methods: M;
}

/**
 * Checks that no method, revision or payload version the methods carry is newer than the contract (a
 * forgotten bump of `version`).
 */
export function defineContract<M extends Methods>(contract: Contract<M>): Contract<M> {
  for (const [name, spec] of Object.entries(contract.methods)) {
    for (const v of [spec.since, ...spec.revisions.map((r) => r.version)]) {
      if (compareVersions(v, contract.version) > 0) {
        throw new Error(`${contract.topic}.${name} is at ${v}, newer than the contract's ${contract.version}`);
      }
    }
    for (const schema of schemasOf(spec)) {
      checkPayloadsCarried(schema, contract.topic, contract.version, `${contract.topic}.${name}`);
    }
  }
  return contract;
}

/** The schemas of what a method's messages carry: its args, and a call's reply. */
function schemasOf(spec: MethodSpec): TSchema[] {
  return spec.kind === 'call' ? [spec.args, spec.reply] : [spec.args];
}

export type ArgsOf<M extends Methods, K extends keyof M> = Static<M[K]['args']>;
export type ReplyOf<M extends Methods, K extends keyof M> =
  M[K] extends CallMethod<TSchema, infer R> ? Static<R> : void;
type NamesOfKind<M extends Methods, Kind> = { [K in keyof M]: M[K]['kind'] extends Kind ? K : never }[keyof M] & string;
export type CastNames<M extends Methods> = NamesOfKind<M, 'cast'>;
export type CallNames<M extends Methods> = NamesOfKind<M, 'call'>;

/** The callee's handlers: one per method, args typed from its schema, a call's result from its reply schema. */
export type Handlers<M extends Methods> = {
  [K in keyof M]: (
    ctx: RequestContext,
    args: ArgsOf<M, K>,
  ) => Promise<M[K] extends CallMethod ? ReplyOf<M, K> : unknown>;
};

/** What an RpcServer needs to serve the contract: its topic, its version and its endpoints. */
export function serveContract<M extends Methods>(
  contract: Contract<M>,
  handlers: Handlers<M>,
): { topic: string; version: RpcVersion; endpoints: RpcEndpoints } {
  const endpoints: RpcEndpoints = {};
  for (const [name, spec] of Object.entries(contract.methods)) {
    const handler = handlers[name] as (ctx: RequestContext, args: unknown) => Promise<unknown>;
    const where = `'${contract.topic}.${name}'`;
    endpoints[name] = {
      args: spec.args,
      // Before the server validates args against `args`: unversioned payloads become 1.0, newer ones are refused.
      prepare: (args) => acceptPayloads(spec.args, args, where),
      // A reply's payloads go back as the version the message was written in carries them.
      handler: async (ctx, args, version) => {
        const result = await handler(ctx, args);
        return spec.kind === 'call' ? backportPayloads(spec.reply, result, contract.topic, version) : result;
      },
    };
  }
  return { topic: contract.topic, version: contract.version, endpoints };
}

/** The highest version the peers of a topic speak: fixed, or found when first needed (`auto`). */
export type VersionCap = RpcVersion | (() => Promise<RpcVersion>);

/** A message as it leaves: the version it is written in and its args in that version's shape. */
export function versionedMessage(
  contract: Contract<Methods>,
  method: string,
  args: object,
  cap: RpcVersion,
): { version: RpcVersion; args: object } {
  const spec = contract.methods[method]!;
  if (compareVersions(spec.since, cap) > 0) {
    throw new UnsupportedRpcVersion(
      `Cannot send '${contract.topic}.${method}': it needs ${contract.topic} ${spec.since}, ` +
        `and the ${contract.topic} services speak ${cap} ([upgrade_levels] ${contract.topic})`,
    );
  }
  let version = spec.since;
  let shaped = args as Record<string, unknown>;
  for (const revision of [...spec.revisions].reverse()) {
    if (compareVersions(revision.version, cap) > 0) shaped = revision.backport(shaped);
    else if (compareVersions(revision.version, version) > 0) version = revision.version;
  }
  // Payloads (of the args, or of the reply the caller reads) at a version the cap carries raise the message's.
  const carried = payloadsContractVersion(schemasOf(spec), contract.topic, cap);
  if (compareVersions(carried, version) > 0) version = carried;
  return { version, args: backportPayloads(spec.args, shaped, contract.topic, version) as object };
}

/** The caller's side of a contract, over the shared RpcClient. */
export class ContractClient<M extends Methods> {
  private readonly replyCheckers = new Map<string, Validator>();
  private cap: Promise<RpcVersion> | null = null;

  constructor(
    private readonly rpc: RpcClient,
    readonly contract: Contract<M>,
    private readonly versionCap: VersionCap = contract.version,
  ) {}

  async cast<K extends CastNames<M>>(
    ctx: RequestContext,
    target: Target,
    method: K,
    args: ArgsOf<M, K>,
  ): Promise<void> {
    const message = versionedMessage(this.contract, method, args as object, await this.peersVersion());
    await this.rpc.cast(ctx, target, method, message.args, message.version);
  }

  async call<K extends CallNames<M>>(
    ctx: RequestContext,
    target: Target,
    method: K,
    args: ArgsOf<M, K>,
    opts: { timeoutMs?: number } = {},
  ): Promise<ReplyOf<M, K>> {
    const message = versionedMessage(this.contract, method, args as object, await this.peersVersion());
    const raw = await this.rpc.call<unknown>(ctx, target, method, message.args, {
      ...opts,
      version: message.version,
    });
    const spec = this.contract.methods[method] as CallMethod;
    const read = acceptPayloads(spec.reply, raw, `The reply to '${this.contract.topic}.${method}'`);
    const check = this.replyChecker(method);
    if (!check.Check(read)) {
      const first = check.Errors(read)[0];
      const problem = first ? `${first.instancePath || '/'} ${first.message}` : 'does not match the schema';
      throw new InvalidRpcReply(
        `The reply to '${this.contract.topic}.${method}' is not what the contract says: ${problem}`,
      );
    }
    return read as ReplyOf<M, K>;
  }

  /** The cap, resolved once (Nova also fixes `auto` for the life of the process). */
  peersVersion(): Promise<RpcVersion> {
    if (!this.cap) {
      const cap = this.versionCap;
      this.cap = typeof cap === 'string' ? Promise.resolve(cap) : cap();
      // A failed lookup is tried again by the next message rather than kept.
      this.cap.catch(() => {
        this.cap = null;
      });
    }
    return this.cap;
  }

  private replyChecker(method: string): Validator {
    let check = this.replyCheckers.get(method);
    if (!check) {
      check = Compile((this.contract.methods[method] as CallMethod).reply);
      this.replyCheckers.set(method, check);
    }
    return check;
  }
}
