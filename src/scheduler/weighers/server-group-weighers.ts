/**
 * The soft server-group policies, as Nova's weighers: for a soft-affinity group a host weighs more the
 * more of the group's members it runs (ServerGroupSoftAffinityWeigher); for soft-anti-affinity, less
 * (ServerGroupSoftAntiAffinityWeigher). Unlike the strict filters they never exclude a host. The counts
 * include the picks already made for the same request, so one request's instances gather or spread too.
 */
import type { ServerGroupPolicy } from '../../objects/server-groups.ts';
import type { FilterRequest } from '../filters/filter.ts';
import type { HostWeigher } from './weigher.ts';

const inGroupOf = (policy: ServerGroupPolicy) => (request: FilterRequest) => request.hints.group?.policy === policy;

export const ServerGroupSoftAffinityWeigher: HostWeigher = {
  name: 'ServerGroupSoftAffinityWeigher',
  multiplierOption: 'soft_affinity_weight_multiplier',
  appliesTo: inGroupOf('soft-affinity'),
  weigh: (host, { hints }) => hints.group?.membersOn(host.host) ?? 0,
};

export const ServerGroupSoftAntiAffinityWeigher: HostWeigher = {
  name: 'ServerGroupSoftAntiAffinityWeigher',
  multiplierOption: 'soft_anti_affinity_weight_multiplier',
  appliesTo: inGroupOf('soft-anti-affinity'),
  weigh: (host, { hints }) => -(hints.group?.membersOn(host.host) ?? 0),
};
