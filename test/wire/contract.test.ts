/**
 * The RPC contracts of src/wire/: clients and servers derived from one definition, replies checked, and
 * the versions a rolling upgrade relies on (a capped client sends what its peers read, a server refuses
 * what it cannot read naming both versions, a message without a version is the base version).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Type } from 'typebox';
import { adminContext } from '../../src/common/context.ts';
import { encodeRequest } from '../../src/common/rpc/envelope.ts';
import {
  InProcessBroker,
  InProcessTransport,
  InvalidRpcReply,
  RpcClient,
  RpcServer,
  UnsupportedRpcVersion,
  type RpcVersion,
} from '../../src/common/rpc/index.ts';
import {
  call,
  cast,
  ContractClient,
  defineContract,
  serveContract,
  versionedMessage,
} from '../../src/wire/contract.ts';
import { computeContract } from '../../src/wire/contracts/compute.ts';
import { conductorContract } from '../../src/wire/contracts/conductor.ts';
import { schedulerContract } from '../../src/wire/contracts/scheduler.ts';
import { SERVICE_VERSION, SERVICE_VERSION_HISTORY, topicVersionOf } from '../../src/wire/service-versions.ts';
import { versionCap } from '../../src/wire/upgrade-levels.ts';

/** A contract of two releases: 1.1 added `shout` and the optional `loud` of `echo`. */
const echoContract = defineContract({
  topic: 'echo',
  version: '1.1',
  methods: {
    echo: call('1.0', Type.Object({ text: Type.String(), loud: Type.Optional(Type.Boolean()) }), Type.String(), [
      { version: '1.1', backport: ({ loud: _loud, ...rest }) => rest },
    ]),
    shout: cast('1.1', Type.Object({ text: Type.String() })),
    /** A reply that breaks its own schema, as a peer with another idea of the contract would. */
    count: call('1.0', Type.Object({}), Type.Integer()),
  },
});
/** The same service as its first release knew it. */
const echoContractV10 = defineContract({
  topic: 'echo',
  version: '1.0',
  methods: {
    echo: call('1.0', Type.Object({ text: Type.String() }), Type.String()),
    count: echoContract.methods.count,
  },
});

describe('RPC contracts', () => {
  const broker = new InProcessBroker();
  const transports: InProcessTransport[] = [];
  const servers: RpcServer[] = [];
  let rpc: RpcClient;
  const received: { method: string; args: unknown }[] = [];
  const ctx = adminContext();
  const target = { topic: 'echo' };

  async function transport(): Promise<InProcessTransport> {
    const t = new InProcessTransport(broker);
    await t.connect();
    transports.push(t);
    return t;
  }

  /** Serves the echo topic with the handlers of `contract`'s release. */
  async function serve(contract: typeof echoContract | typeof echoContractV10): Promise<void> {
    for (const server of servers.splice(0)) await server.stop();
    const handlers = {
      echo: async (_ctx: unknown, a: { text: string; loud?: boolean }) => {
        received.push({ method: 'echo', args: a });
        return a.loud ? a.text.toUpperCase() : a.text;
      },
      shout: async (_ctx: unknown, a: { text: string }) => {
        received.push({ method: 'shout', args: a });
      },
      count: async () => 'not a number' as unknown as number,
    };
    const server = new RpcServer(await transport(), {
      ...serveContract(contract as typeof echoContract, handlers),
      server: 's1',
    });
    await server.start();
    servers.push(server);
  }

  before(async () => {
    rpc = new RpcClient(await transport(), { responseTimeoutMs: 2000 });
  });
  after(async () => {
    for (const server of servers) await server.stop();
    await rpc.close();
    for (const t of transports) await t.close();
  });

  it('checks replies against the reply schema and names the method', async () => {
    await serve(echoContract);
    const client = new ContractClient(rpc, echoContract);
    assert.equal(await client.call(ctx, target, 'echo', { text: 'hi', loud: true }), 'HI');
    await assert.rejects(client.call(ctx, target, 'count', {}), (err: unknown) => {
      assert.ok(err instanceof InvalidRpcReply, String(err));
      assert.match(err.message, /'echo\.count'.*must be integer/);
      return true;
    });
  });

  it('does not compile a misspelt method, a wrong argument or a cast used as a call', () => {
    const client = new ContractClient(rpc, echoContract);
    // Never sent: the point is what the compiler says of each line (tsc fails if one of them compiles).
    const typeChecks = () => [
      // @ts-expect-error: no such method
      client.call(ctx, target, 'ecco', { text: 'x' }),
      // @ts-expect-error: text is a string
      client.call(ctx, target, 'echo', { text: 1 }),
      // @ts-expect-error: shout is a cast
      client.call(ctx, target, 'shout', { text: 'x' }),
      // @ts-expect-error: echo is a call
      client.cast(ctx, target, 'echo', { text: 'x' }),
    ];
    assert.equal(typeof typeChecks, 'function');
  });

  it('sends what a capped peer reads: an older method refused before sending, newer args backported', async () => {
    await serve(echoContractV10);
    received.length = 0;
    const capped = new ContractClient(rpc, echoContract, '1.0');
    assert.equal(await capped.call(ctx, target, 'echo', { text: 'hi', loud: true }), 'hi', 'loud dropped for 1.0');
    assert.deepEqual(received, [{ method: 'echo', args: { text: 'hi' } }]);
    await assert.rejects(capped.cast(ctx, target, 'shout', { text: 'x' }), (err: unknown) => {
      assert.ok(err instanceof UnsupportedRpcVersion, String(err));
      assert.match(
        err.message,
        /'echo\.shout': it needs echo 1\.1, and the echo services speak 1\.0 \(\[upgrade_levels\] echo\)/,
      );
      return true;
    });
    assert.deepEqual(versionedMessage(echoContract, 'echo', { text: 'a', loud: true }, '1.1'), {
      version: '1.1',
      args: { text: 'a', loud: true },
    });
  });

  it('refuses, naming both versions, a message newer than the server reads', async () => {
    await serve(echoContractV10);
    const uncapped = new ContractClient(rpc, echoContract);
    await assert.rejects(uncapped.call(ctx, target, 'echo', { text: 'hi', loud: true }), (err: unknown) => {
      assert.ok(err instanceof UnsupportedRpcVersion, String(err));
      assert.match(err.message, /speaks echo 1\.0 and cannot read 'echo' written in echo 1\.1/);
      return true;
    });
  });

  it('reads a message without a version (the first release sent none in its contract) as 1.0', async () => {
    await serve(echoContract);
    received.length = 0;
    const body = JSON.parse(encodeRequest(ctx, 'echo', { text: 'old' })) as Record<string, unknown>;
    delete body['version'];
    await transports[0]!.publish('echo', JSON.stringify(body));
    const deadline = Date.now() + 2000;
    while (received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(received, [{ method: 'echo', args: { text: 'old' } }]);
  });
});

describe('[upgrade_levels]', () => {
  const lowest = (version: number | null) => async () => version;

  it('empty: this release; a version: that one; newer than this release: refused', () => {
    assert.equal(versionCap('conductor', null, '1.1', lowest(1)), '1.1');
    assert.equal(versionCap('conductor', '1.0', '1.1', lowest(1)), '1.0');
    assert.throws(
      () => versionCap('conductor', '1.2', '1.1', lowest(1)),
      /\[upgrade_levels\] conductor = 1\.2 is newer/,
    );
  });

  it('auto: what the oldest registered service reads, this release when none is registered', async () => {
    const cap = async (v: number | null) => {
      const c = versionCap('conductor', 'auto', '1.1', lowest(v));
      assert.equal(typeof c, 'function');
      return (c as () => Promise<RpcVersion>)();
    };
    assert.equal(await cap(1), '1.0', 'a conductor of the first release');
    assert.equal(await cap(SERVICE_VERSION), conductorContract.version);
    assert.equal(await cap(null), '1.1');
    assert.equal(await cap(SERVICE_VERSION + 5), conductorContract.version, 'a newer service reads ours');
  });

  it("this release's service version maps to the contracts as they are", () => {
    assert.deepEqual(SERVICE_VERSION_HISTORY[SERVICE_VERSION], {
      conductor: conductorContract.version,
      scheduler: schedulerContract.version,
      compute: computeContract.version,
    });
    assert.equal(topicVersionOf('compute', 1), '1.0');
  });

  it('a contract with a method newer than itself is a mistake caught at load', () => {
    assert.throws(
      () => defineContract({ topic: 't', version: '1.0', methods: { m: cast('1.1', Type.Object({})) } }),
      /t\.m is at 1\.1, newer than the contract's 1\.0/,
    );
  });
});
