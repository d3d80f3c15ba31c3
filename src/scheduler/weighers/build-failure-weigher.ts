/**
 * BuildFailureWeigher (Nova's): hosts whose node reports consecutive failed builds (the failed_builds
 * stat, reset by a successful build) weigh less. Its default multiplier of one million outweighs every
 * other weigher, so a node that keeps failing is tried only when nothing else fits.
 */
import type { HostWeigher } from './weigher.ts';

export const BuildFailureWeigher: HostWeigher = {
  name: 'BuildFailureWeigher',
  multiplierOption: 'build_failure_weight_multiplier',
  sign: -1,
  weigh: (host) => host.failedBuilds,
  column: (columns) => columns.failedBuilds,
};
