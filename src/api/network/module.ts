/**
 * The shape of one part of the network API (networks, subnets, ports, security groups, routers, ...):
 * the resources it adds to the /v2.0 document, the Neutron extensions it implements (listed by
 * GET /v2.0/extensions, which clients such as the openstack CLI consult before using a feature) and
 * its routes. Each part lives in a directory of its own and is listed once in modules.ts.
 */
import type { ApiServer } from '../http/create-server.ts';
import type { NetworkApiDeps } from './deps.ts';

/** A resource of the /v2.0 document: `name` singular (network), `collection` its URL segment (networks). */
export interface NetworkResource {
  name: string;
  collection: string;
}

/** A Neutron API extension as GET /v2.0/extensions describes it. */
export interface NetworkExtension {
  alias: string;
  name: string;
  description: string;
  /** When the extension's API last changed, as Neutron's extension descriptors date it. */
  updated: string;
}

export interface NetworkApiModule {
  resources: readonly NetworkResource[];
  extensions: readonly NetworkExtension[];
  /** Adds the module's routes under /v2.0. */
  register(app: ApiServer, deps: NetworkApiDeps): void;
}
