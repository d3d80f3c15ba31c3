/**
 * Versioned payloads (Nova's versioned objects): each shape that crosses the bus (an instance, a request
 * spec, a selection, a node report, a disk snapshot link) carries the version of its own shape in
 * `payload_version`, so it can change apart from the methods that carry it, be stored and read back by
 * another release, and be rewritten for an older peer.
 *
 * A shape is declared once with `definePayload(name, properties, revisions)`: its current version is its
 * last revision's (1.0 without any). A revision says which contract version of each topic that carries the
 * shape first carried it (`carriedBy`) and how to rewrite a payload of its version as the previous version
 * read it (`backport`). The schema marks where the shape sits, so the contract layer finds every payload
 * of a message from the method's schema: a sender backports them to what its peers' contract version
 * carries, a receiver reads a payload without a version as 1.0 (the first release sent none) and refuses
 * one newer than it knows, naming the shape and both versions.
 *
 * A revision may only add optional fields or widen one: a payload of an older version is then a valid
 * payload of the current schema, and a receiver reads it as it is.
 */
import { Type, type Static, type TObject, type TProperties, type TSchema, type TString } from 'typebox';
import { declareError, StratusError } from '../common/errors.ts';
import { BASE_VERSION, canRead, compareVersions, isRpcVersion, type RpcVersion } from '../common/rpc/index.ts';

/** A payload whose version its receiver does not read (newer than its own): names the shape and both versions. */
export const UnsupportedPayloadVersion = declareError(
  class UnsupportedPayloadVersion extends StratusError {
    override readonly status = 500;
  },
);

/** A change of a shape at `version`. */
export interface PayloadRevision {
  readonly version: RpcVersion;
  /** For each topic whose contract carries the shape: the contract version that first carries this version. */
  readonly carriedBy: Readonly<Record<string, RpcVersion>>;
  /** Rewrites a payload of `version` as the previous version read it (its payload_version is set after). */
  backport(payload: Record<string, unknown>): Record<string, unknown>;
}

type Versioned<P extends TProperties> = TObject<{ payload_version: TString } & P>;

/** Where, in a schema, the shape's definition is kept (a symbol: schemas stay plain JSON Schema). */
const SHAPE = Symbol('stratus.payloadShape');

export class PayloadShape<P extends TProperties = TProperties> {
  /** The newest version: what this release builds and the newest it reads. */
  readonly version: RpcVersion;
  readonly schema: Versioned<P>;

  constructor(
    readonly name: string,
    properties: P,
    readonly revisions: readonly PayloadRevision[],
  ) {
    let previous: RpcVersion = BASE_VERSION;
    for (const r of revisions) {
      if (compareVersions(r.version, previous) <= 0) throw new Error(`${name} revisions must go up: ${r.version}`);
      previous = r.version;
    }
    this.version = previous;
    const version = Type.String({ pattern: '^\\d+\\.\\d+$' });
    this.schema = Type.Object({ payload_version: version, ...properties }) as Versioned<P>;
    Object.assign(this.schema, { [SHAPE]: this });
  }

  /** A payload of this shape, stamped with the current version (the one way producers build one). */
  build(fields: Static<TObject<P>>): Static<Versioned<P>> {
    return { ...(fields as object), payload_version: this.version } as Static<Versioned<P>>;
  }

  /** The version of this shape that contract `contractVersion` of `topic` carries. */
  versionFor(topic: string, contractVersion: RpcVersion): RpcVersion {
    let version = BASE_VERSION;
    for (const r of this.revisions) {
      const since = r.carriedBy[topic];
      if (since !== undefined && compareVersions(since, contractVersion) <= 0) version = r.version;
    }
    return version;
  }

  /** `payload` as a receiver of this release reads it: 1.0 if it has no version, refused if newer. */
  accept(payload: Record<string, unknown>, where: string): Record<string, unknown> {
    const version = payload['payload_version'];
    if (version === undefined) return { ...payload, payload_version: BASE_VERSION };
    // A malformed version is left to the schema's validation, which names the field.
    if (typeof version === 'string' && isRpcVersion(version) && !canRead(this.version, version)) {
      throw new UnsupportedPayloadVersion(
        `${where} carries ${this.name} ${version}, and this service reads ${this.name} up to ${this.version} ` +
          `(upgrade it, or cap the sender with [upgrade_levels])`,
      );
    }
    return payload;
  }

  /** `payload` rewritten as version `target` reads it (unchanged if it is that version or older). */
  backport(payload: Record<string, unknown>, target: RpcVersion): Record<string, unknown> {
    const version = (payload['payload_version'] as RpcVersion | undefined) ?? BASE_VERSION;
    if (compareVersions(version, target) <= 0) return payload;
    let shaped = payload;
    for (const r of [...this.revisions].reverse()) {
      if (compareVersions(r.version, target) > 0 && compareVersions(r.version, version) <= 0)
        shaped = r.backport(shaped);
    }
    return { ...shaped, payload_version: target };
  }
}

export function definePayload<P extends TProperties>(
  name: string,
  properties: P,
  revisions: PayloadRevision[] = [],
): PayloadShape<P> {
  return new PayloadShape(name, properties, revisions);
}

/** Where the payloads of a schema's values are: only the branches that lead to one. */
type Plan =
  | { readonly kind: 'payload'; readonly shape: PayloadShape }
  | { readonly kind: 'object'; readonly fields: readonly (readonly [string, Plan])[] }
  | { readonly kind: 'array'; readonly items: Plan }
  | { readonly kind: 'union'; readonly branches: readonly Plan[] };

const plans = new WeakMap<TSchema, Plan | null>();

/** Objects, arrays and unions are followed (a payload in a record or a tuple is not found). */
function planOf(schema: TSchema): Plan | null {
  let plan = plans.get(schema);
  if (plan !== undefined) return plan;
  const s = schema as Record<string | symbol, unknown>;
  plan = null;
  if (s[SHAPE] instanceof PayloadShape) plan = { kind: 'payload', shape: s[SHAPE] };
  else if (isRecord(s['properties'])) {
    const fields = Object.entries(s['properties'] as Record<string, TSchema>)
      .map(([key, sub]) => [key, planOf(sub)] as const)
      .filter((f): f is readonly [string, Plan] => f[1] !== null);
    if (fields.length) plan = { kind: 'object', fields };
  } else if (isRecord(s['items'])) {
    const items = planOf(s['items'] as TSchema);
    if (items) plan = { kind: 'array', items };
  } else if (Array.isArray(s['anyOf'])) {
    const branches = (s['anyOf'] as TSchema[]).map(planOf).filter((b): b is Plan => b !== null);
    if (branches.length) plan = { kind: 'union', branches };
  }
  plans.set(schema, plan);
  return plan;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fits(plan: Plan, value: unknown): boolean {
  if (plan.kind === 'array') return Array.isArray(value);
  if (plan.kind === 'union') return plan.branches.some((b) => fits(b, value));
  return isRecord(value);
}

/** `value` with each payload replaced by `rewrite(shape, payload)`; containers on the way are copied. */
function mapPayloads(
  plan: Plan,
  value: unknown,
  rewrite: (shape: PayloadShape, payload: Record<string, unknown>) => Record<string, unknown>,
): unknown {
  if (!fits(plan, value)) return value; // not this schema's shape: validation says so
  switch (plan.kind) {
    case 'payload':
      return rewrite(plan.shape, value as Record<string, unknown>);
    case 'array':
      return (value as unknown[]).map((item) => mapPayloads(plan.items, item, rewrite));
    case 'union':
      return mapPayloads(
        plan.branches.find((b) => fits(b, value))!,
        value,
        rewrite,
      );
    case 'object': {
      const copy = { ...(value as Record<string, unknown>) };
      for (const [key, sub] of plan.fields) {
        if (Object.hasOwn(copy, key)) copy[key] = mapPayloads(sub, copy[key], rewrite);
      }
      return copy;
    }
  }
}

function shapesIn(plan: Plan | null, into = new Set<PayloadShape>()): Set<PayloadShape> {
  if (plan?.kind === 'payload') into.add(plan.shape);
  else if (plan?.kind === 'object') for (const [, sub] of plan.fields) shapesIn(sub, into);
  else if (plan?.kind === 'array') shapesIn(plan.items, into);
  else if (plan?.kind === 'union') for (const b of plan.branches) shapesIn(b, into);
  return into;
}

/** A received value of `schema`, its payloads read as this release reads them (see `PayloadShape.accept`). */
export function acceptPayloads(schema: TSchema, value: unknown, where: string): unknown {
  const plan = planOf(schema);
  return plan ? mapPayloads(plan, value, (shape, p) => shape.accept(p, where)) : value;
}

/** A value of `schema` to send to peers of `topic` at `contractVersion`, its payloads backported to theirs. */
export function backportPayloads(schema: TSchema, value: unknown, topic: string, contractVersion: RpcVersion): unknown {
  const plan = planOf(schema);
  return plan
    ? mapPayloads(plan, value, (shape, p) => shape.backport(p, shape.versionFor(topic, contractVersion)))
    : value;
}

/**
 * The contract version a message must be written in for its payloads (in `schemas`) to travel at the
 * newest version peers of `topic` at `cap` carry: a 1.0 server cannot be sent a payload version 1.1 added.
 */
export function payloadsContractVersion(schemas: readonly TSchema[], topic: string, cap: RpcVersion): RpcVersion {
  let version = BASE_VERSION;
  for (const schema of schemas) {
    for (const shape of shapesIn(planOf(schema))) {
      for (const r of shape.revisions) {
        const since = r.carriedBy[topic];
        if (since && compareVersions(since, cap) <= 0 && compareVersions(since, version) > 0) version = since;
      }
    }
  }
  return version;
}

/** Throws if a payload in `schema` has a revision `topic` does not carry yet (a forgotten contract bump). */
export function checkPayloadsCarried(schema: TSchema, topic: string, contractVersion: RpcVersion, where: string): void {
  for (const shape of shapesIn(planOf(schema))) {
    for (const r of shape.revisions) {
      const since = r.carriedBy[topic];
      if (since === undefined || compareVersions(since, contractVersion) > 0) {
        throw new Error(
          `${where} carries ${shape.name} ${r.version}, which ${topic} ${contractVersion} does not carry ` +
            `(give the revision a carriedBy.${topic} no newer than the contract)`,
        );
      }
    }
  }
}
