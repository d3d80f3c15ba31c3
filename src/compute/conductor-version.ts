/**
 * `[upgrade_levels] conductor` on a compute host. A compute host has no database, so `auto` asks the
 * conductor for the conductors' lowest service version; a conductor of the first release has no such
 * method, and that refusal itself says it reads conductor 1.0.
 */
import type { Config } from '../common/config/load-config.ts';
import { adminContext } from '../common/context.ts';
import { UnsupportedRpcMethod, UnsupportedRpcVersion, type RpcClient } from '../common/rpc/index.ts';
import type { VersionCap } from '../wire/contract.ts';
import { ConductorRpcApi, conductorContract } from '../wire/contracts/conductor.ts';
import { versionCap } from '../wire/upgrade-levels.ts';

export function conductorVersionCap(config: Config, rpc: RpcClient): VersionCap {
  // The lookup's own client is uncapped: service_versions is the newest conductor's.
  const conductor = new ConductorRpcApi(rpc);
  return versionCap('conductor', config.upgrade_levels.conductor, conductorContract.version, async (binary) => {
    try {
      return (await conductor.serviceVersions(adminContext(), [binary]))[binary] ?? null;
    } catch (err) {
      if (err instanceof UnsupportedRpcMethod || err instanceof UnsupportedRpcVersion) return 1;
      throw err;
    }
  });
}
