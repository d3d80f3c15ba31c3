import { call } from '../api.ts';
import { ActionButton, ErrorText, Page, Table, UsageBar } from '../components.tsx';
import { usePoll } from '../hooks.ts';

interface Hypervisor {
  id: string;
  hypervisor_hostname: string;
  state: string;
  status: string;
  vcpus: number;
  vcpus_used: number;
  memory_mb: number;
  memory_mb_used: number;
  local_gb: number;
  local_gb_used: number;
  running_vms: number;
  /** Its storage pools, by tier, as placement holds them (Stratus's storage-tier extension). */
  'STRATUS-EXT-STORAGE:pools'?: { tier: string; capacity_gb: number; used_gb: number }[];
}

export function Hypervisors() {
  const { data, error } = usePoll(async () => {
    const { hypervisors } = await call<{ hypervisors: Hypervisor[] }>('compute', '/v2.1/os-hypervisors/detail', {
      extensions: ['storage-tier'],
    });
    return hypervisors;
  }, 5000);
  return (
    <Page title="Hypervisors">
      <ErrorText error={error} />
      <div className="cards">
        {(data ?? []).map((h) => (
          <article key={h.id} className="panel" aria-label={`Hypervisor ${h.hypervisor_hostname}`}>
            <h2>{h.hypervisor_hostname}</h2>
            <p>
              {h.state}, {h.status}, {h.running_vms} servers
            </p>
            <UsageBar label="vCPUs" used={h.vcpus_used} total={h.vcpus} />
            <UsageBar label="Memory" used={h.memory_mb_used} total={h.memory_mb} unit="MiB" />
            <UsageBar label="Disk" used={h.local_gb_used} total={h.local_gb} unit="GiB" />
            {(h['STRATUS-EXT-STORAGE:pools'] ?? []).map((p) => (
              <UsageBar
                key={p.tier}
                label={`Storage tier ${p.tier}`}
                used={p.used_gb}
                total={p.capacity_gb}
                unit="GiB"
              />
            ))}
          </article>
        ))}
      </div>
    </Page>
  );
}

interface ComputeService {
  id: string;
  binary: string;
  host: string;
  zone: string;
  status: 'enabled' | 'disabled';
  state: 'up' | 'down';
  updated_at: string | null;
  disabled_reason: string | null;
}

/** Seconds since a heartbeat, by this browser's clock (the API gives the time, not the age). */
function age(updatedAt: string | null): string {
  if (!updatedAt) return 'never';
  const stamp = Date.parse(/[Zz]|[+-]\d\d:\d\d$/.test(updatedAt) ? updatedAt : `${updatedAt}Z`);
  return `${Math.max(0, Math.round((Date.now() - stamp) / 1000))} s ago`;
}

export function ComputeServices() {
  const { data, error, refresh } = usePoll(async () => {
    const { services } = await call<{ services: ComputeService[] }>('compute', '/v2.1/os-services');
    return services;
  }, 2000);
  const set = (s: ComputeService, status: 'enabled' | 'disabled') => () =>
    call('compute', `/v2.1/os-services/${s.id}`, {
      method: 'PUT',
      body: status === 'disabled' ? { status, disabled_reason: 'disabled from the dashboard' } : { status },
    }).then(refresh);
  return (
    <Page title="Compute services">
      <ErrorText error={error} />
      <Table
        label="Compute services"
        columns={['Service', 'Host', 'Zone', 'Status', 'State', 'Last heartbeat', 'Actions']}
      >
        {(data ?? []).map((s) => (
          <tr key={s.id} data-service={`${s.binary}@${s.host}`}>
            <td>{s.binary}</td>
            <td>{s.host}</td>
            <td>{s.zone}</td>
            <td className={`status-${s.status}`}>
              {s.status}
              {s.disabled_reason ? ` (${s.disabled_reason})` : ''}
            </td>
            <td className={`state-${s.state}`}>{s.state}</td>
            <td>{age(s.updated_at)}</td>
            <td>
              {s.binary === 'nova-compute' || s.binary === 'stratus-compute' ? (
                s.status === 'enabled' ? (
                  <ActionButton label={`Disable ${s.host}`} run={set(s, 'disabled')} />
                ) : (
                  <ActionButton label={`Enable ${s.host}`} run={set(s, 'enabled')} />
                )
              ) : null}
            </td>
          </tr>
        ))}
      </Table>
    </Page>
  );
}
