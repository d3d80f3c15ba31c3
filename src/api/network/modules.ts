/**
 * Every part of the network API, in the order its resources appear in the /v2.0 document. The one
 * registration point: a new resource directory adds its module here and nowhere else.
 */
import type { NetworkApiModule } from './module.ts';
import { coreExtensionsModule } from './core-extensions.ts';
import { networksModule } from './networks/routes.ts';
import { portsModule } from './ports/routes.ts';
import { quotasModule } from './quotas/routes.ts';
import { subnetsModule } from './subnets/routes.ts';

export const NETWORK_API_MODULES: readonly NetworkApiModule[] = [
  coreExtensionsModule,
  networksModule,
  subnetsModule,
  portsModule,
  quotasModule,
];
