/**
 * Every part of the network API, in the order its resources appear in the /v2.0 document. The one
 * registration point: a new resource directory adds its module here and nowhere else.
 */
import type { NetworkApiModule } from './module.ts';
import { coreExtensionsModule } from './core-extensions.ts';
import { floatingIpsModule } from './floating-ips/index.ts';
import { networksModule } from './networks/routes.ts';
import { portsModule } from './ports/routes.ts';
import { quotasModule } from './quotas/routes.ts';
import { routersModule } from './routers/index.ts';
import { securityGroupRulesModule } from './security-group-rules/index.ts';
import { securityGroupsModule } from './security-groups/index.ts';
import { subnetsModule } from './subnets/routes.ts';
import { tagsModule } from './tags.ts';

export const NETWORK_API_MODULES: readonly NetworkApiModule[] = [
  coreExtensionsModule,
  networksModule,
  subnetsModule,
  portsModule,
  securityGroupsModule,
  securityGroupRulesModule,
  routersModule,
  floatingIpsModule,
  quotasModule,
  tagsModule,
];
