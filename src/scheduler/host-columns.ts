/**
 * What the resource filters and weighers read of every host, kept in typed arrays beside the view's
 * hosts, at each host's index: free VCPU, PCPU, MEMORY_MB and DISK_GB, DISK_GB free per storage tier,
 * consecutive failed builds, and whether the compute service is up and enabled. A decision at 10,000
 * hosts then runs loops over numbers instead of several property reads and calls per host (those reads
 * were about three quarters of its CPU in profiles).
 *
 * The host objects stay the truth; a column entry is always worked out from its host (`update`), by
 * whoever changes the host: a placement counted in the view (`consume`), a refused claim's re-read, an
 * incremental reload. A full load builds new hosts and new columns.
 */
import { ResourceClass } from '../placement/resource-classes.ts';
import { consume, free, freeInPool, type HostState } from './host-state.ts';

export class HostColumns {
  readonly freeVcpu: Float64Array;
  readonly freePcpu: Float64Array;
  readonly freeRam: Float64Array;
  /** DISK_GB left on the node and in all its pools together (what DiskWeigher ranks by). */
  readonly freeDisk: Float64Array;
  readonly failedBuilds: Float64Array;
  /** 1 where the host's compute service is up and not disabled (ComputeFilter). */
  readonly usable: Uint8Array;
  /** 1 where the host is in at least one aggregate; fixed until the next full load, as aggregates are. */
  readonly inAggregate: Uint8Array;
  /**
   * Per storage tier: DISK_GB left in each host's pool of that tier, NaN for a host without one (NaN is
   * never >= an amount, so such a host fails every fit). Pools change only with a full load.
   */
  private readonly pools = new Map<string, Float64Array>();

  constructor(readonly hosts: readonly HostState[]) {
    const n = hosts.length;
    this.freeVcpu = new Float64Array(n);
    this.freePcpu = new Float64Array(n);
    this.freeRam = new Float64Array(n);
    this.freeDisk = new Float64Array(n);
    this.failedBuilds = new Float64Array(n);
    this.usable = new Uint8Array(n);
    this.inAggregate = new Uint8Array(n);
    for (let index = 0; index < n; index++) {
      const host = hosts[index]!;
      this.inAggregate[index] = host.aggregates.length ? 1 : 0;
      for (const tier in host.storagePools) {
        if (!this.pools.has(tier)) this.pools.set(tier, new Float64Array(n).fill(NaN));
      }
      this.update(index);
    }
  }

  /** DISK_GB left per host in its pool of `tier` (NaN: no such pool), or undefined when no host has one. */
  poolColumn(tier: string): Float64Array | undefined {
    return this.pools.get(tier);
  }

  /** Works out every column of host `index` again from the host; call after changing its usage or reports. */
  update(index: number): void {
    const host = this.hosts[index]!;
    this.freeVcpu[index] = free(host, ResourceClass.VCPU);
    this.freePcpu[index] = free(host, ResourceClass.PCPU);
    this.freeRam[index] = free(host, ResourceClass.MEMORY_MB);
    this.freeDisk[index] = free(host, ResourceClass.DISK_GB);
    this.failedBuilds[index] = host.failedBuilds;
    for (const [tier, column] of this.pools) column[index] = freeInPool(host, tier) ?? NaN;
    this.updateService(index);
  }

  /** The service state of host `index` only (a reload sets every host's, since time alone takes one down). */
  updateService(index: number): void {
    const host = this.hosts[index]!;
    this.usable[index] = host.serviceUp && !host.serviceDisabled ? 1 : 0;
  }

  /** `consume` on host `index`, and its columns with it. */
  consume(
    index: number,
    resources: Readonly<Record<string, number>>,
    sign: 1 | -1 = 1,
    storageTier: string | undefined = undefined,
  ): void {
    consume(this.hosts[index]!, resources, sign, storageTier);
    this.update(index);
  }
}

/** The indices of all `count` hosts, in order (in `into`, when given): where a decision's filtering starts. */
export function allIndices(count: number, into: Int32Array = new Int32Array(count)): Int32Array {
  for (let i = 0; i < count; i++) into[i] = i;
  return into;
}
