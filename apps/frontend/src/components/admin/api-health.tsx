// API health over 24 h: calls, error and throttle rates, latency p50/p95 — as figures, and per
// hour as charts (recharts). Data: GET /metrics (`api`, `api.hourly`, `token_refreshes`).
import type { MetricsResponse } from '@qbo-sync/contract';
import {
  Bar,
  BarChart,
  CartesianGrid,
  Legend,
  Line,
  LineChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import { useMetrics, type Realm } from '../../hooks/useQuickBooks.ts';
import { count, hourLabel, ms, percent } from '../../lib/format.ts';
import { Empty, ErrorNote, Loading, Panel } from '../ui/panel.tsx';

const ACCENT = '#1d6b57';
const WARN = '#b7791f';
const BAD = '#b42318';
const MUTED = '#8a94a6';

export function Tile({
  label,
  value,
  tone,
}: {
  label: string;
  value: string;
  tone?: 'warn' | 'bad';
}) {
  return (
    <div className={`tile ${tone ? `tile-${tone}` : ''}`}>
      <div className="tile-value">{value}</div>
      <div className="tile-label">{label}</div>
    </div>
  );
}

type Point = Record<string, string | number | null>;
interface Series {
  key: string;
  name: string;
  color: string;
}

/** One chart of the 24 hours: stacked bars (counts) or lines (rates, latency). */
function HourlyChart(props: {
  caption: string;
  label: string;
  data: Point[];
  kind: 'bars' | 'lines';
  series: Series[];
}) {
  const Chart = props.kind === 'bars' ? BarChart : LineChart;
  return (
    <figure className="chart" aria-label={props.label}>
      <figcaption>{props.caption}</figcaption>
      <ResponsiveContainer width="100%" height={200}>
        <Chart data={props.data} margin={{ top: 8, right: 8, bottom: 0, left: -16 }}>
          <CartesianGrid stroke="#e6e9ef" vertical={false} />
          <XAxis
            dataKey="hour"
            tick={{ fontSize: 11 }}
            interval="preserveStartEnd"
            minTickGap={24}
          />
          <YAxis
            allowDecimals={props.kind !== 'bars'}
            tick={{ fontSize: 11 }}
            domain={[0, 'auto']}
          />
          <Tooltip />
          <Legend wrapperStyle={{ fontSize: 12 }} />
          {props.series.map((s) =>
            props.kind === 'bars' ? (
              <Bar
                key={s.key}
                dataKey={s.key}
                name={s.name}
                stackId="c"
                fill={s.color}
                isAnimationActive={false}
              />
            ) : (
              <Line
                key={s.key}
                dataKey={s.key}
                name={s.name}
                stroke={s.color}
                dot={{ r: 2 }}
                connectNulls
                isAnimationActive={false}
              />
            ),
          )}
        </Chart>
      </ResponsiveContainer>
    </figure>
  );
}

function Charts({ m }: { m: MetricsResponse }) {
  const data: Point[] = m.api.hourly.map((h) => ({
    hour: hourLabel(h.hour),
    ok: h.calls - h.errors,
    errors: h.errors - h.throttled,
    throttled: h.throttled,
    errorRate: h.calls ? +((h.errors / h.calls) * 100).toFixed(1) : null,
    throttleRate: h.calls ? +((h.throttled / h.calls) * 100).toFixed(1) : null,
    p50: h.latency_ms.p50,
    p95: h.latency_ms.p95,
  }));
  return (
    <div className="charts">
      <HourlyChart
        caption="Calls per hour"
        label="Calls per hour, by outcome"
        data={data}
        kind="bars"
        series={[
          { key: 'ok', name: 'answered', color: ACCENT },
          { key: 'errors', name: 'errors', color: BAD },
          { key: 'throttled', name: 'throttled (429)', color: WARN },
        ]}
      />
      <HourlyChart
        caption="Error and throttle rate, %"
        label="Error and throttle rate per hour"
        data={data}
        kind="lines"
        series={[
          { key: 'errorRate', name: 'errors %', color: BAD },
          { key: 'throttleRate', name: 'throttled %', color: WARN },
        ]}
      />
      <HourlyChart
        caption="Latency, ms"
        label="Latency per hour, p50 and p95"
        data={data}
        kind="lines"
        series={[
          { key: 'p50', name: 'p50', color: ACCENT },
          { key: 'p95', name: 'p95', color: MUTED },
        ]}
      />
    </div>
  );
}

export function ApiHealth({ realm }: { realm: Realm }) {
  const metrics = useMetrics(realm);
  const m = metrics.data;
  return (
    <Panel
      title="API health"
      testId="api-health"
      expandable
      summary={
        m ? (
          <span className="muted">
            {count(m.api.calls)} calls in 24 h · {percent(m.api.error_rate)} errors · p95{' '}
            {ms(m.api.latency_ms.p95)}
          </span>
        ) : null
      }
    >
      {metrics.isPending && <Loading />}
      {metrics.isError && (
        <ErrorNote error={metrics.error} onRetry={() => void metrics.refetch()} />
      )}
      {m && (
        <>
          <div className="tiles">
            <Tile label="calls, 24 h" value={count(m.api.calls)} />
            <Tile
              label="error rate"
              value={percent(m.api.error_rate)}
              {...(m.api.error_rate > 0.05 ? { tone: 'bad' as const } : {})}
            />
            <Tile
              label="throttle rate"
              value={percent(m.api.throttle_rate)}
              {...(m.alerts.throttle_rate_high.active ? { tone: 'warn' as const } : {})}
            />
            <Tile label="latency p50" value={ms(m.api.latency_ms.p50)} />
            <Tile label="latency p95" value={ms(m.api.latency_ms.p95)} />
            <Tile
              label="token refreshes (failed)"
              value={`${m.token_refreshes.total} (${m.token_refreshes.invalid_grant + m.token_refreshes.error})`}
            />
          </div>
          {m.api.calls === 0 ? (
            <Empty>No calls to QuickBooks in the last 24 hours.</Empty>
          ) : (
            <Charts m={m} />
          )}
        </>
      )}
    </Panel>
  );
}
