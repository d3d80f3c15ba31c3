/**
 * Placement relative to other servers, as Nova's filters: SameHostFilter and DifferentHostFilter (the
 * `same_host` / `different_host` hints name instances; a node passes if it runs one / none of them),
 * and ServerGroupAffinityFilter / ServerGroupAntiAffinityFilter for the strict policies of the group the
 * `group` hint names. The counts of group members per host include the picks already made for the
 * same request, so the instances of one multi-instance request obey the policy among themselves too.
 */
import { nodeKey } from '../request-hints.ts';
import type { HostFilter } from './filter.ts';

export const SameHostFilter: HostFilter = {
  name: 'SameHostFilter',
  runOncePerRequest: true,
  appliesTo: ({ hints }) => hints.sameHostNodes !== null,
  passes: (host, { hints }) => !hints.sameHostNodes || hints.sameHostNodes.has(nodeKey(host.host, host.nodename)),
};

export const DifferentHostFilter: HostFilter = {
  name: 'DifferentHostFilter',
  runOncePerRequest: true,
  appliesTo: ({ hints }) => hints.differentHostNodes !== null,
  passes: (host, { hints }) =>
    !hints.differentHostNodes || !hints.differentHostNodes.has(nodeKey(host.host, host.nodename)),
};

/** affinity: once a member runs somewhere, the others go to that host. */
export const ServerGroupAffinityFilter: HostFilter = {
  name: 'ServerGroupAffinityFilter',
  // Not whether a member is placed yet: the request's own first pick places one.
  appliesTo: ({ hints: { group } }) => group?.policy === 'affinity',
  passes(host, { hints: { group } }) {
    if (!group || group.policy !== 'affinity' || !group.placed) return true;
    return group.membersOn(host.host) > 0;
  },
};

/** anti-affinity: a host runs fewer than max_server_per_host (default 1) of the group's members. */
export const ServerGroupAntiAffinityFilter: HostFilter = {
  name: 'ServerGroupAntiAffinityFilter',
  appliesTo: ({ hints: { group } }) => group?.policy === 'anti-affinity',
  passes(host, { hints: { group } }) {
    if (!group || group.policy !== 'anti-affinity') return true;
    return group.membersOn(host.host) < group.maxServerPerHost;
  },
};
