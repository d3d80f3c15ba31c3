import { call } from '../api.ts';
import { ErrorText, Page } from '../components.tsx';
import { usePoll } from '../hooks.ts';

/** The compute API's absolute limits of the project (GET /limits): the quota and what uses it. */
type Absolute = Record<string, number>;

const QUOTAS = [
  ['Servers', 'maxTotalInstances', 'totalInstancesUsed', ''],
  ['vCPUs', 'maxTotalCores', 'totalCoresUsed', ''],
  ['Memory', 'maxTotalRAMSize', 'totalRAMUsed', 'MiB'],
  ['Server groups', 'maxServerGroups', 'totalServerGroupsUsed', ''],
] as const;

/** The project's quota usage, one chart a resource, as the compute API reports it. */
export function Overview({ projectName }: { projectName: string }) {
  const { data, error } = usePoll(async () => {
    const [{ limits }, { keypairs }] = await Promise.all([
      call<{ limits: { absolute: Absolute } }>('compute', '/v2.1/limits'),
      call<{ keypairs: unknown[] }>('compute', '/v2.1/os-keypairs'),
    ]);
    const usage: Absolute = { ...limits.absolute, keyPairsUsed: keypairs.length };
    return usage;
  }, 3000);
  return (
    <Page title="Overview">
      <p>Quota usage of the project {projectName}.</p>
      <ErrorText error={error} />
      {data ? (
        <div className="cards">
          {QUOTAS.map(([label, max, used, unit]) => (
            <Donut key={label} label={label} used={data[used] ?? 0} total={data[max] ?? -1} unit={unit} />
          ))}
          <Donut label="Key pairs" used={data['keyPairsUsed'] ?? 0} total={data['maxTotalKeypairs'] ?? -1} unit="" />
        </div>
      ) : null}
    </Page>
  );
}

const RADIUS = 40;
const CIRCUMFERENCE = 2 * Math.PI * RADIUS;

/** A used/limit ring drawn in SVG; a negative limit is no limit (an empty ring). */
export function Donut(props: { label: string; used: number; total: number; unit: string }) {
  const unlimited = props.total < 0;
  const fraction =
    unlimited || props.total === 0 ? (props.used > 0 && props.total === 0 ? 1 : 0) : props.used / props.total;
  const shown = Math.min(1, fraction);
  const unit = props.unit ? ` ${props.unit}` : '';
  const text = `${props.label}: ${props.used}${unit} used of ${unlimited ? 'no limit' : `${props.total}${unit}`}`;
  return (
    <figure className="panel donut">
      <svg viewBox="0 0 100 100" width="120" height="120" role="img" aria-label={text}>
        <circle cx="50" cy="50" r={RADIUS} className="donut-track" />
        <circle
          cx="50"
          cy="50"
          r={RADIUS}
          className={`donut-used${shown > 0.9 ? ' full' : ''}`}
          strokeDasharray={`${shown * CIRCUMFERENCE} ${CIRCUMFERENCE}`}
          transform="rotate(-90 50 50)"
        />
        <text x="50" y="55" textAnchor="middle">
          {unlimited ? props.used : `${Math.round(fraction * 100)}%`}
        </text>
      </svg>
      <figcaption>{text}</figcaption>
    </figure>
  );
}
