/** The RPC layer's public API: transports, the client and server, envelopes and remote errors (docs/architecture.md). */
export { RpcClient, type RpcClientOptions } from './rpc-client.ts';
export { RpcServer, type RpcServerOptions } from './rpc-server.ts';
export { endpoint, type RpcEndpoint, type RpcEndpoints } from './endpoint.ts';
export { queueName, type Target } from './target.ts';
export type { ConnectionEvent, Transport } from './transport.ts';
export { createTransport, maskTransportUrl, parseTransportUrl, type TransportOptions } from './transport-url.ts';
export { InProcessBroker, InProcessTransport } from './in-process-transport.ts';
export { AmqpTransport } from './amqp-transport.ts';
export {
  InvalidRpcArguments,
  InvalidRpcReply,
  MessageDeliveryFailure,
  MessagingTimeout,
  RemoteError,
  UnsupportedRpcMethod,
  UnsupportedRpcVersion,
} from './errors.ts';
export { BASE_VERSION, canRead, compareVersions, isRpcVersion, parseVersion, type RpcVersion } from './version.ts';
