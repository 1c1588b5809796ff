// The time axis above the timelines: the dashboard's time range, ticks at round times in its time zone.
import { dateTimeFormat, type TimeZone } from '@grafana/data';
import React, { useMemo } from 'react';

import { timeTicks } from '../data/timeAxis';
import type { PanelStyles } from './styles';
import { AXIS_HEIGHT } from './styles';
import { useTheme2 } from '@grafana/ui';

export interface TimeAxisProps {
  from: number;
  to: number;
  labelWidth: number;
  trackWidth: number;
  timeZone: TimeZone;
  styles: PanelStyles;
  title: string;
}

/** "+01:00" -> 3 600 000 */
function utcOffsetMs(t: number, timeZone: TimeZone): number {
  const m = /^([+-])(\d\d):?(\d\d)$/.exec(dateTimeFormat(t, { format: 'Z', timeZone }));
  if (!m) {
    return 0;
  }
  const ms = (Number(m[2]) * 60 + Number(m[3])) * 60_000;
  return m[1] === '-' ? -ms : ms;
}

export function TimeAxis({ from, to, labelWidth, trackWidth, timeZone, styles, title }: TimeAxisProps) {
  const theme = useTheme2();
  const { ticks, format } = useMemo(
    () => timeTicks(from, to, trackWidth, 90, utcOffsetMs(from, timeZone)),
    [from, to, trackWidth, timeZone]
  );
  const span = Math.max(1, to - from);
  return (
    <div className={styles.axisRow}>
      <div className={styles.axisLabel} style={{ width: labelWidth }}>
        {title}
      </div>
      <svg width={trackWidth} height={AXIS_HEIGHT} style={{ display: 'block', overflow: 'visible' }} aria-label="time axis">
        {ticks.map((t) => {
          const x = ((t - from) / span) * trackWidth;
          return (
            <g key={t}>
              <line x1={x} x2={x} y1={AXIS_HEIGHT - 4} y2={AXIS_HEIGHT} stroke={theme.colors.border.medium} />
              <text
                x={x}
                y={AXIS_HEIGHT - 7}
                textAnchor={x < 24 ? 'start' : x > trackWidth - 24 ? 'end' : 'middle'}
                fontSize={theme.typography.bodySmall.fontSize}
                fill={theme.colors.text.secondary}
              >
                {dateTimeFormat(t, { format, timeZone })}
              </text>
            </g>
          );
        })}
      </svg>
    </div>
  );
}
