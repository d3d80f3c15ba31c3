/**
 * `[upgrade_levels]`: what a client of a topic may send while the cloud is upgraded one service at a time
 * (database, conductor, scheduler, api, computes). Empty: this release's contract. A version: that one.
 * `auto`: what the oldest registered service of the topic reads, found from the service versions of the
 * services table the first time a message is sent (and kept for the process's life, as Nova does: restart
 * the senders once every service of the topic is upgraded).
 */
import { getLogger } from '../common/log/logger.ts';
import { compareVersions, type RpcVersion } from '../common/rpc/index.ts';
import type { VersionCap } from './contract.ts';
import type { ServiceBinary } from './messages/service-binaries.ts';
import { TOPIC_BINARY, topicVersionOf, type Topic } from './service-versions.ts';

const log = getLogger('rpc.upgrade-levels');

/** The lowest service version among the registered services of a binary; null if none is registered. */
export type LowestServiceVersion = (binary: ServiceBinary) => Promise<number | null>;

export function versionCap(
  topic: Topic,
  level: string | null,
  current: RpcVersion,
  lowestServiceVersion: LowestServiceVersion,
): VersionCap {
  if (level === null) return current;
  if (level === 'auto') {
    return async () => {
      const lowest = await lowestServiceVersion(TOPIC_BINARY[topic]);
      // No service of the topic yet: nobody to be compatible with but this release.
      const cap = lowest === null ? current : topicVersionOf(topic, lowest);
      log.info(
        { topic, lowest_service_version: lowest, cap },
        `[upgrade_levels] ${topic} = auto: sending ${topic} ${cap}`,
      );
      return cap;
    };
  }
  if (compareVersions(level, current) > 0) {
    throw new Error(`[upgrade_levels] ${topic} = ${level} is newer than this release's ${topic} ${current}`);
  }
  return level as RpcVersion;
}
