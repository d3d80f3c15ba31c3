/**
 * Versioned payloads (src/wire/payload.ts) on the in-process transport: a payload is stamped with its
 * shape's version when built, a receiver reads one without a version as 1.0 and an older one as it is,
 * refuses a newer one naming the shape and both versions, and a client capped at an older contract
 * backports what it sends (and a server what it replies). Widget 1.1 is a test-only revision: the
 * project's own shapes are all at 1.0.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Type } from 'typebox';
import { adminContext } from '../../src/common/context.ts';
import {
  InProcessBroker,
  InProcessTransport,
  RpcClient,
  endpoint,
  RpcServer,
  UnsupportedRpcVersion,
  type RpcEndpoints,
  type RpcVersion,
} from '../../src/common/rpc/index.ts';
import {
  call,
  ContractClient,
  defineContract,
  serveContract,
  versionedMessage,
  type Handlers,
} from '../../src/wire/contract.ts';
import { conductorContract } from '../../src/wire/contracts/conductor.ts';
import { schedulerContract } from '../../src/wire/contracts/scheduler.ts';
import { DiskSnapshotLinkShape } from '../../src/wire/messages/disk-snapshot-link.ts';
import { InstancePayloadShape } from '../../src/wire/messages/instance-payload.ts';
import { NodeReportShape } from '../../src/wire/messages/node-report.ts';
import { DestinationNotCarried, RequestSpecShape, SelectionShape } from '../../src/wire/messages/request-spec.ts';
import { acceptPayloads, definePayload, UnsupportedPayloadVersion } from '../../src/wire/payload.ts';
import { testSpec } from '../helpers/request-spec.ts';

/** Widget as the release before knew it. */
const WidgetV10 = definePayload('Widget', { name: Type.String() });
/** Widget 1.1 adds an optional colour, first carried by paint 1.1. */
const Widget = definePayload('Widget', { name: Type.String(), colour: Type.Optional(Type.String()) }, [
  { version: '1.1', carriedBy: { paint: '1.1' }, backport: ({ colour: _colour, ...rest }) => rest },
]);

/** `paint` carries widgets in its args (one, and an array or null) and in its reply. */
function paintContract(widget: typeof Widget.schema | typeof WidgetV10.schema, version: '1.0' | '1.1') {
  return defineContract({
    topic: 'paint',
    version,
    methods: {
      paint: call(
        '1.0',
        Type.Object({ widget, spares: Type.Union([Type.Array(widget), Type.Null()]) }),
        Type.Array(widget),
      ),
    },
  });
}
const paint11 = paintContract(Widget.schema, '1.1');
const paint10 = paintContract(WidgetV10.schema, '1.0');

describe('versioned payloads', () => {
  const broker = new InProcessBroker();
  const transports: InProcessTransport[] = [];
  let server: RpcServer | null = null;
  let rpc: RpcClient;
  const ctx = adminContext();
  const target = { topic: 'paint' };
  /** The args each handler received. */
  const received: unknown[] = [];

  async function transport(): Promise<InProcessTransport> {
    const t = new InProcessTransport(broker);
    await t.connect();
    transports.push(t);
    return t;
  }

  /** Serves paint as `contract`'s release: the reply is the widget it got, and one of its own. */
  async function serve(contract: typeof paint11 | typeof paint10): Promise<void> {
    const own = contract === paint11 ? Widget.build({ name: 'own', colour: 'red' }) : WidgetV10.build({ name: 'own' });
    const handlers: Handlers<typeof paint11.methods> = {
      paint: async (_ctx, args) => {
        received.push(args);
        return [args.widget, own];
      },
    };
    await listen(serveContract(contract as typeof paint11, handlers));
  }

  async function listen(served: { topic: string; version: RpcVersion; endpoints: RpcEndpoints }): Promise<void> {
    await server?.stop();
    server = new RpcServer(await transport(), { ...served, server: 's1' });
    await server.start();
  }

  before(async () => {
    rpc = new RpcClient(await transport(), { responseTimeoutMs: 2000 });
  });
  after(async () => {
    await server?.stop();
    await rpc.close();
    for (const t of transports) await t.close();
  });

  it('stamps the current version when a payload is built; the shapes of the project are at their versions', () => {
    assert.deepEqual(Widget.build({ name: 'w', colour: 'blue' }), {
      name: 'w',
      colour: 'blue',
      payload_version: '1.1',
    });
    assert.equal(WidgetV10.build({ name: 'w' }).payload_version, '1.0');
    for (const shape of [InstancePayloadShape, SelectionShape, NodeReportShape, DiskSnapshotLinkShape]) {
      assert.equal(shape.version, '1.0', shape.name);
    }
    assert.equal(RequestSpecShape.version, '1.1', 'RequestSpec 1.1: requested_destination');
    const client = new ContractClient(rpc, paint11);
    // Never sent: the point is what the compiler says (tsc fails if the line compiles).
    const typeChecks = () =>
      // @ts-expect-error: a widget without its payload_version
      client.call(ctx, target, 'paint', { widget: { name: 'w' }, spares: null });
    assert.equal(typeof typeChecks, 'function');
  });

  it('backports a RequestSpec without a destination to 1.0, and refuses to drop a destination', () => {
    const plain = testSpec({});
    assert.equal(plain.payload_version, '1.1');
    const select = (spec: typeof plain, cap: RpcVersion) =>
      versionedMessage(schedulerContract, 'select_destinations', { request_spec: spec, instance_uuids: ['u'] }, cap);
    const old = select(plain, '1.0').args as { request_spec: Record<string, unknown> };
    assert.equal(old.request_spec['payload_version'], '1.0');
    const placed = { ...plain, requested_destination: { host: 'h1', node: null } };
    assert.throws(() => select(placed, '1.0'), DestinationNotCarried);
    const sent = select(placed, '1.1');
    assert.equal(sent.version, '1.1');
    assert.deepEqual((sent.args as { request_spec: typeof placed }).request_spec, placed);
  });

  it('reads a payload without a version as 1.0, and an older one as it is', async () => {
    await serve(paint11);
    received.length = 0;
    // As a release before payload versions sends it: no payload_version anywhere.
    const reply = await rpc.call(ctx, target, 'paint', { widget: { name: 'old' }, spares: [{ name: 's' }] });
    await rpc.call(
      ctx,
      target,
      'paint',
      { widget: WidgetV10.build({ name: 'v10' }), spares: null },
      { version: '1.0' },
    );
    assert.deepEqual(received, [
      { widget: { name: 'old', payload_version: '1.0' }, spares: [{ name: 's', payload_version: '1.0' }] },
      { widget: { name: 'v10', payload_version: '1.0' }, spares: null },
    ]);
    // A message of paint 1.0 gets its reply as paint 1.0 carries widgets: the server's red one lost its colour.
    assert.deepEqual(reply, [
      { name: 'old', payload_version: '1.0' },
      { name: 'own', payload_version: '1.0' },
    ]);
  });

  it('sends and replies the newest version when both sides read it', async () => {
    await serve(paint11);
    received.length = 0;
    const client = new ContractClient(rpc, paint11);
    const widget = Widget.build({ name: 'w', colour: 'blue' });
    assert.equal(versionedMessage(paint11, 'paint', { widget, spares: null }, '1.1').version, '1.1');
    assert.deepEqual(await client.call(ctx, target, 'paint', { widget, spares: null }), [
      widget,
      Widget.build({ name: 'own', colour: 'red' }),
    ]);
    assert.deepEqual(received, [{ widget, spares: null }]);
  });

  it('refuses a payload newer than it reads, naming the shape and both versions', async () => {
    await serve(paint10);
    received.length = 0;
    // Written in paint 1.0, which the server reads, but with a widget of a shape it does not know.
    const newer = rpc.call(
      ctx,
      target,
      'paint',
      { widget: Widget.build({ name: 'w' }), spares: null },
      { version: '1.0' },
    );
    await assert.rejects(newer, (err: unknown) => {
      assert.ok(err instanceof UnsupportedPayloadVersion, String(err));
      assert.match(err.message, /'paint\.paint' carries Widget 1\.1, and this service reads Widget up to 1\.0/);
      return true;
    });
    // An uncapped client writes the message in the contract version that carries its widgets: refused as such.
    const uncapped = new ContractClient(rpc, paint11);
    await assert.rejects(
      uncapped.call(ctx, target, 'paint', { widget: Widget.build({ name: 'w' }), spares: null }),
      (err: unknown) => {
        assert.ok(err instanceof UnsupportedRpcVersion, String(err));
        assert.match(err.message, /speaks paint 1\.0 and cannot read 'paint' written in paint 1\.1/);
        return true;
      },
    );
    assert.deepEqual(received, []);
  });

  it('backports what a capped client sends, and refuses a reply newer than the client reads', async () => {
    await serve(paint10);
    received.length = 0;
    const capped = new ContractClient(rpc, paint11, '1.0');
    const blue = Widget.build({ name: 'w', colour: 'blue' });
    const reply = await capped.call(ctx, target, 'paint', { widget: blue, spares: [blue] });
    const asV10 = { name: 'w', payload_version: '1.0' };
    assert.deepEqual(received, [{ widget: asV10, spares: [asV10] }]);
    assert.equal(blue.colour, 'blue', "the caller's payload is not changed");
    assert.deepEqual(reply, [asV10, { name: 'own', payload_version: '1.0' }]);

    // A newer server answers an older client as the client's contract carries widgets...
    await serve(paint11);
    const old = new ContractClient(rpc, paint10);
    assert.deepEqual(await old.call(ctx, target, 'paint', { widget: WidgetV10.build({ name: 'x' }), spares: null }), [
      { name: 'x', payload_version: '1.0' },
      { name: 'own', payload_version: '1.0' },
    ]);
    // ...and a reply that is not (a server that does not backport) is refused, not misread.
    await listen({
      topic: 'paint',
      version: '1.1',
      endpoints: { paint: endpoint(Type.Any(), async () => [Widget.build({ name: 'new', colour: 'red' })]) },
    });
    await assert.rejects(
      old.call(ctx, target, 'paint', { widget: WidgetV10.build({ name: 'x' }), spares: null }),
      (err: unknown) => {
        assert.ok(err instanceof UnsupportedPayloadVersion, String(err));
        assert.match(
          err.message,
          /The reply to 'paint\.paint' carries Widget 1\.1, and this service reads Widget up to 1\.0/,
        );
        return true;
      },
    );
  });

  it('a contract carrying a payload version its topic does not carry yet is a mistake caught at load', () => {
    assert.throws(
      () =>
        defineContract({
          topic: 'other',
          version: '1.0',
          methods: { m: call('1.0', Type.Object({ w: Widget.schema }), Type.Null()) },
        }),
      /other\.m carries Widget 1\.1, which other 1\.0 does not carry/,
    );
    assert.throws(() => paintContract(Widget.schema, '1.0'), /paint\.paint carries Widget 1\.1/);
  });

  it("finds the project's payloads in its contracts: unversioned ones (a first-release peer's) read as 1.0", () => {
    const node = { nodename: 'n', stats: {} };
    assert.deepEqual(
      acceptPayloads(conductorContract.methods.report_nodes.args, { host: 'h', nodes: [node] }, 'report_nodes'),
      { host: 'h', nodes: [{ ...node, payload_version: '1.0' }] },
    );
    assert.deepEqual(
      acceptPayloads(
        conductorContract.methods.sync_disk_snapshots.args,
        { uuid: 'u', chain: [{ id: 'l', size: 1 }] },
        'sync_disk_snapshots',
      ),
      { uuid: 'u', chain: [{ id: 'l', size: 1, payload_version: '1.0' }] },
    );
    const built = acceptPayloads(
      conductorContract.methods.build_instances.args,
      { instance_uuids: ['u'], request_spec: { num_instances: 1 }, instances: [{ uuid: 'u' }] },
      'build_instances',
    );
    assert.deepEqual(built, {
      instance_uuids: ['u'],
      request_spec: { num_instances: 1, payload_version: '1.0' },
      instances: [{ uuid: 'u', payload_version: '1.0' }],
    });
    const selections = acceptPayloads(
      schedulerContract.methods.select_destinations.reply,
      [[{ service_host: 'h' }]],
      'select_destinations',
    );
    assert.deepEqual(selections, [[{ service_host: 'h', payload_version: '1.0' }]]);
  });
});
