// Allow/deny over time as an SVG drawn on the server: stacked bars, a
// tooltip (<title>) per bar, a text summary for screen readers. No script,
// no inline style (presentation attributes only, which the CSP allows).
import type { FC } from "hono/jsx";
import type { TimeseriesPoint } from "../../store/store.ts";
import { Time } from "./layout.tsx";

const W = 960;
const H = 180;
const PAD_TOP = 8;

export const Chart: FC<{ points: TimeseriesPoint[]; bucketLabel: string }> = ({ points, bucketLabel }) => {
  const max = Math.max(1, ...points.map((p) => p.allowed + p.denied));
  const slot = W / Math.max(points.length, 1);
  const barW = Math.max(1, slot * 0.8);
  const y = (n: number) => ((H - PAD_TOP) * n) / max;
  const allowed = points.reduce((s, p) => s + p.allowed, 0);
  const denied = points.reduce((s, p) => s + p.denied, 0);
  const first = points[0];
  const last = points[points.length - 1];
  return (
    <div class="chart">
      <div class="legend"><span><i class="a"></i>allowed</span><span><i class="d"></i>denied</span><span>per {bucketLabel}, peak {max}</span></div>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${allowed} allowed and ${denied} denied requests over ${points.length} buckets of ${bucketLabel}`}>
        <line x1="0" y1={H - 0.5} x2={W} y2={H - 0.5} stroke="#c3cad6" stroke-width="1" />
        {points.map((p, i) => {
          const x = i * slot + (slot - barW) / 2;
          const hd = y(p.denied);
          const ha = y(p.allowed);
          return (
            <g>
              <title>{`${new Date(p.at).toISOString()} (UTC): ${p.allowed} allowed, ${p.denied} denied`}</title>
              {ha > 0 && <rect x={x.toFixed(1)} y={(H - ha).toFixed(1)} width={barW.toFixed(1)} height={ha.toFixed(1)} fill="#2f7d4f" />}
              {hd > 0 && <rect x={x.toFixed(1)} y={(H - ha - hd).toFixed(1)} width={barW.toFixed(1)} height={hd.toFixed(1)} fill="#b42318" />}
            </g>
          );
        })}
      </svg>
      {first && last && (
        <div class="axis"><Time iso={new Date(first.at).toISOString()} /><Time iso={new Date(last.at).toISOString()} /></div>
      )}
    </div>
  );
};
