/**
 * The fault of a build that took longer than `[DEFAULT] instance_build_timeout`, whoever ends it (the
 * compute host that ran it or, for builds no host will end, the conductor): Nova's log line for it.
 */
export const BUILD_TIMED_OUT = 'Instance build timed out. Set to error state.';
