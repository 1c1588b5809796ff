// One service: name, current health (coloured by the thresholds) with its sparkline, and its timeline of
// anomaly periods (shaded spans), healing actions (markers by outcome), reverts of fixes (U-turn arrows) and
// demotions to approve mode (a band along the top).
import { useTheme2 } from '@grafana/ui';
import React, { memo } from 'react';

import type { AnomalySpan, DemotionPeriod, HealingEvent, ServiceTimeline } from '../data/model';
import { demotionText, eventOutcomeText, eventTitle } from '../format';
import { MarkerShape, RevertShape } from './Marker';
import { Sparkline } from './Sparkline';
import { demotionColors, outcomeColor, type PanelStyles, revertColor, spanColors } from './styles';

export type HoverTarget =
  | { kind: 'event'; event: HealingEvent }
  | { kind: 'span'; span: AnomalySpan }
  | { kind: 'demotion'; demotion: DemotionPeriod };

/** A marker's accessible name: `scale_up succeeded for checkout`, `reverted scale_up for checkout`. */
function eventLabel(ev: HealingEvent, service: string): string {
  const what = ev.kind === 'revert' ? eventTitle(ev).replace(' · ', ': ') : `${ev.action} ${eventOutcomeText(ev).toLowerCase()}`;
  return `${what} for ${service}`;
}

export interface ServiceRowProps {
  timeline: ServiceTimeline;
  from: number;
  to: number;
  labelWidth: number;
  trackWidth: number;
  height: number;
  healthColor: string;
  showSparkline: boolean;
  styles: PanelStyles;
  onHover: (service: string, target: HoverTarget | undefined, clientX: number, clientY: number) => void;
  onEventClick: (event: HealingEvent) => void;
}

const MARKER_SIZE = 11;

export const ServiceRow = memo(function ServiceRow(props: ServiceRowProps) {
  const { timeline, from, to, labelWidth, trackWidth, height, healthColor, showSparkline, styles, onHover, onEventClick } = props;
  const theme = useTheme2();
  const span = Math.max(1, to - from);
  const x = (t: number) => Math.min(trackWidth, Math.max(0, ((t - from) / span) * trackWidth));
  const mid = height / 2;
  const sparkWidth = Math.max(0, Math.min(160, labelWidth - 110));
  const leave = () => onHover(timeline.service, undefined, 0, 0);

  return (
    <div className={styles.row} style={{ height }} data-testid="selfheal-row" data-service={timeline.service}>
      <div className={styles.label} style={{ width: labelWidth }}>
        <div className={styles.labelText}>
          <span className={styles.serviceName} title={timeline.service}>
            {timeline.service}
          </span>
          {showSparkline && timeline.health && sparkWidth > 20 && (
            <Sparkline series={timeline.health} from={from} to={to} width={sparkWidth} height={Math.min(18, height - 22)} color={healthColor} />
          )}
        </div>
        <span
          className={timeline.currentHealth === undefined ? `${styles.health} ${styles.noValue}` : styles.health}
          style={timeline.currentHealth === undefined ? undefined : { color: healthColor }}
          data-testid="selfheal-health"
          aria-label={`health of ${timeline.service}`}
        >
          {timeline.currentHealth === undefined ? '–' : Math.round(timeline.currentHealth)}
        </span>
      </div>
      <div className={styles.track}>
        <svg width={trackWidth} height={height} style={{ display: 'block' }}>
          <line x1={0} x2={trackWidth} y1={mid} y2={mid} stroke={theme.colors.border.weak} strokeWidth={1} />
          {timeline.spans.map((s) => {
            const c = spanColors(theme, s.peakScore);
            const x0 = x(s.start);
            const w = Math.max(2, x(s.end) - x0);
            return (
              <rect
                key={`span-${s.start}`}
                data-testid="selfheal-span"
                x={x0}
                y={Math.round(height * 0.18)}
                width={w}
                height={height - 2 * Math.round(height * 0.18)}
                rx={2}
                fill={c.fill}
                stroke={c.stroke}
                strokeOpacity={0.6}
                onMouseMove={(e) => onHover(timeline.service, { kind: 'span', span: s }, e.clientX, e.clientY)}
                onMouseLeave={leave}
              />
            );
          })}
          {timeline.demotions.map((d) => {
            const c = demotionColors(theme);
            const x0 = x(d.start);
            const w = Math.max(3, x(d.open ? to : d.end) - x0);
            return (
              <rect
                key={`demotion-${d.action}-${d.start}`}
                data-testid="selfheal-demotion"
                data-action={d.action}
                role="img"
                aria-label={demotionText(d)}
                x={x0}
                y={1}
                width={w}
                height={Math.max(3, Math.round(height * 0.1))}
                rx={1}
                fill={c.fill}
                stroke={c.stroke}
                strokeWidth={1}
                onMouseMove={(e) => onHover(timeline.service, { kind: 'demotion', demotion: d }, e.clientX, e.clientY)}
                onMouseLeave={leave}
              />
            );
          })}
          {timeline.events.map((ev) => {
            const label = eventLabel(ev, timeline.service);
            const Shape = ev.kind === 'revert' ? RevertShape : MarkerShape;
            return (
              <g
                key={`ev-${ev.kind}-${ev.time}-${ev.action}-${ev.outcome}`}
                className={styles.marker}
                data-testid={ev.kind === 'revert' ? 'selfheal-revert' : 'selfheal-event'}
                data-outcome={ev.outcome}
                role="button"
                tabIndex={0}
                aria-label={label}
                onMouseMove={(e) => onHover(timeline.service, { kind: 'event', event: ev }, e.clientX, e.clientY)}
                onMouseLeave={leave}
                onFocus={(e) => {
                  const r = e.currentTarget.getBoundingClientRect();
                  onHover(timeline.service, { kind: 'event', event: ev }, r.right, r.bottom);
                }}
                onBlur={leave}
                onClick={() => onEventClick(ev)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter' || e.key === ' ') {
                    onEventClick(ev);
                  }
                }}
              >
                <Shape
                  outcome={ev.outcome}
                  x={x(ev.time)}
                  y={mid}
                  size={MARKER_SIZE}
                  color={ev.kind === 'revert' ? revertColor(theme, ev.outcome) : outcomeColor(theme, ev.outcome)}
                  background={theme.colors.background.primary}
                />
              </g>
            );
          })}
        </svg>
      </div>
    </div>
  );
});
