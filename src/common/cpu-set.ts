/**
 * Nova's CPU-set syntax, as `vcpu_pin_set`, `[compute] cpu_shared_set` and `cpu_dedicated_set` use it:
 * comma-separated CPU ids and inclusive ranges, where a leading `^` removes ids (or a range) from what
 * the other entries add, whatever the order: "0-7,^2,^4-5" is {0,1,3,6,7}.
 */

/** Far beyond any host; bounds the work a typo like "0-9999999999" could cause. */
const MAX_CPU_ID = 65535;

/** Parses `spec` into its CPU ids, ascending; throws an Error saying what was wrong. */
export function parseCpuSet(spec: string): number[] {
  const included = new Set<number>();
  const excluded = new Set<number>();
  for (const raw of spec.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const exclude = entry.startsWith('^');
    const body = exclude ? entry.slice(1).trim() : entry;
    const match = /^(\d+)\s*(?:-\s*(\d+))?$/.exec(body);
    if (!match) {
      throw new Error(`'${entry}' is not a CPU id, a range 'N-M' or an exclusion '^N' (in '${spec}')`);
    }
    const start = Number(match[1]);
    const end = match[2] === undefined ? start : Number(match[2]);
    if (start > end) throw new Error(`range '${entry}' ends before it starts (in '${spec}')`);
    if (end > MAX_CPU_ID) throw new Error(`CPU id ${end} is beyond ${MAX_CPU_ID} (in '${spec}')`);
    for (let cpu = start; cpu <= end; cpu++) (exclude ? excluded : included).add(cpu);
  }
  const cpus = [...included].filter((cpu) => !excluded.has(cpu)).sort((a, b) => a - b);
  if (!cpus.length) throw new Error(`'${spec}' leaves no CPU`);
  return cpus;
}

/** The set in Nova's syntax, ranges collapsed: [0,1,2,5] is "0-2,5". */
export function formatCpuSet(cpus: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < cpus.length; i++) {
    let j = i;
    while (j + 1 < cpus.length && cpus[j + 1] === cpus[j]! + 1) j++;
    parts.push(j > i ? `${cpus[i]}-${cpus[j]}` : String(cpus[i]));
    i = j;
  }
  return parts.join(',');
}
