/**
 * The members of the security groups this host's guests name as remote group: one set per group, shared
 * by every rule of every guest here that names it (as Neutron's agents keep one ipset per remote group).
 * A guest's record (vif-cache.ts) keeps such a rule with the group's id and no addresses, so a change of
 * a group's members rewrites one small file here, not every watching guest's record.
 *
 * One JSON file per group (`<group id>.json`: its GroupMembers) under the vif cache's `groups/`
 * directory, replaced by rename; the sets are all read once at start and then kept in memory, since this
 * host's compute service is their only writer. Writes of one group go one after another, each writing
 * the set as it is in memory when its turn comes, so the file ends as the last change left it.
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Compile } from 'typebox/compile';
import { getLogger } from '../../common/log/logger.ts';
import { GroupMembersSchema, type GroupMembers } from '../../wire/contracts/compute.ts';
import type { Vif } from '../../wire/messages/network-info.ts';

const log = getLogger('compute.network');

/** A name that can only be a file of this directory (group ids are uuids): no separators, no dots. */
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
const membersCheck = Compile(GroupMembersSchema);

export class MemberSets {
  private readonly sets = new Map<string, GroupMembers>();
  private loaded: Promise<void> | null = null;
  private writes: Promise<unknown> = Promise.resolve();

  constructor(readonly directory: string) {}

  /** Reads the stored sets (once; later calls wait for the same read). */
  load(): Promise<void> {
    this.loaded ??= this.readAll();
    return this.loaded;
  }

  private async readAll(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.directory);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const name of names) {
      const id = name.endsWith('.json') ? name.slice(0, -'.json'.length) : '';
      if (!SAFE_NAME.test(id)) continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(await readFile(join(this.directory, name), 'utf8'));
      } catch {
        parsed = undefined;
      }
      // A set that does not parse is left out: the group's next member change brings it whole again.
      if (membersCheck.Check(parsed) && parsed.id === id) this.sets.set(id, parsed);
      else log.warn({ group: id, directory: this.directory }, 'a stored security group member set does not parse');
    }
  }

  get(id: string): GroupMembers | undefined {
    return this.sets.get(id);
  }

  ids(): string[] {
    return [...this.sets.keys()];
  }

  all(): GroupMembers[] {
    return [...this.sets.values()];
  }

  /** Sets the group's members in memory (at once) and on disk; false (nothing written) if they are the same. */
  set(members: GroupMembers): { changed: boolean; written: Promise<void> } {
    const current = this.sets.get(members.id);
    if (current && sameMembers(current, members)) return { changed: false, written: Promise.resolve() };
    this.sets.set(members.id, { id: members.id, ipv4: [...members.ipv4], ipv6: [...members.ipv6] });
    return { changed: true, written: this.persist(members.id) };
  }

  /** Forgets the group (no guest here names it any more). */
  delete(id: string): Promise<void> {
    if (!this.sets.delete(id)) return Promise.resolve();
    return this.persist(id);
  }

  private persist(id: string): Promise<void> {
    if (!SAFE_NAME.test(id)) return Promise.reject(new Error(`not a security group id: ${JSON.stringify(id)}`));
    const file = join(this.directory, `${id}.json`);
    const run = async () => {
      const members = this.sets.get(id);
      if (!members) return rm(file, { force: true });
      await mkdir(this.directory, { recursive: true });
      const temporary = `${file}.${process.pid}.tmp`;
      await writeFile(temporary, JSON.stringify(members));
      await rename(temporary, file);
    };
    const result = this.writes.then(run, run);
    this.writes = result.catch(() => undefined);
    return result;
  }
}

export function sameMembers(a: GroupMembers, b: GroupMembers): boolean {
  const same = (x: readonly string[], y: readonly string[]) => x.length === y.length && x.every((p, i) => p === y[i]);
  return same(a.ipv4, b.ipv4) && same(a.ipv6, b.ipv6);
}

/**
 * The VIF as a host records it: a rule naming a remote group keeps the group's id and no addresses (an
 * empty list, which admits nobody if read without the group's set, also for a rule that came without
 * any: Vif 1.2); the same object if no rule changes.
 */
export function withoutMembers(vif: Vif): Vif {
  if (!vif.security_group_rules.some((r) => r.remote_group_id !== undefined && r.remote_prefixes?.length !== 0))
    return vif;
  return {
    ...vif,
    security_group_rules: vif.security_group_rules.map((rule) =>
      rule.remote_group_id === undefined ? rule : { ...rule, remote_prefixes: [] },
    ),
  };
}

/**
 * The VIF with each rule naming a remote group this host has a set of expanded to the set's addresses of
 * the rule's family; a rule naming a group it has none of stays as it came (a sender's own expansion),
 * or admits nobody if it came without addresses (Vif 1.2). The same object if no rule names a group.
 */
export function expandRemoteGroups(vif: Vif, members: (id: string) => GroupMembers | undefined): Vif {
  if (!vif.security_group_rules.some((r) => r.remote_group_id !== undefined)) return vif;
  return {
    ...vif,
    security_group_rules: vif.security_group_rules.map((rule) => {
      const group = rule.remote_group_id === undefined ? undefined : members(rule.remote_group_id);
      if (!group) return rule.remote_prefixes === undefined ? { ...rule, remote_prefixes: [] } : rule;
      return { ...rule, remote_prefixes: rule.ethertype === 'IPv6' ? group.ipv6 : group.ipv4 };
    }),
  };
}

/** The remote groups the VIFs' rules name. */
export function remoteGroupsOf(vifs: readonly Vif[]): Set<string> {
  const groups = new Set<string>();
  for (const vif of vifs)
    for (const rule of vif.security_group_rules) if (rule.remote_group_id) groups.add(rule.remote_group_id);
  return groups;
}
