// The tooltip of an event, an anomaly period or a demotion: what was detected, which action ran (or which fix was
// reverted), its outcome, and how long recovery took; for a demotion, which action on which target and since when.
import { dateTimeFormat, type TimeZone } from '@grafana/data';
import { Portal, VizTooltipContainer } from '@grafana/ui';
import React from 'react';

import type { AnomalySpan } from '../data/model';
import { DEMOTION_NOTE, demotionText, eventOutcomeText, eventTitle, formatDuration, formatScore, OUTCOME_NOTE, REVERT_NOTE } from '../format';
import type { HoverTarget } from './ServiceRow';
import type { PanelStyles } from './styles';

export interface TimelineTooltipProps {
  service: string;
  target: HoverTarget;
  x: number;
  y: number;
  timeZone: TimeZone;
  styles: PanelStyles;
  hasLink: boolean;
}

function detected(span: AnomalySpan | undefined): string {
  if (!span) {
    return 'no anomaly in range';
  }
  const feature = span.feature ?? 'unknown feature';
  return `${feature} (peak score ${formatScore(span.peakScore)})`;
}

function attribution(span: AnomalySpan): string | undefined {
  if (span.attribution.length === 0) {
    return undefined;
  }
  return span.attribution
    .slice(0, 3)
    .map((a) => `${a.feature} ${formatScore(a.score)}`)
    .join(', ');
}

export function TimelineTooltip({ service, target, x, y, timeZone, styles, hasLink }: TimelineTooltipProps) {
  const time = (t: number) => dateTimeFormat(t, { format: 'YYYY-MM-DD HH:mm:ss', timeZone });
  const rows: Array<[string, string]> = [];
  let title: string;
  if (target.kind === 'event') {
    const e = target.event;
    title = eventTitle(e);
    rows.push(['Service', service]);
    rows.push(['Time', e.approximate ? `by ${time(e.time)}` : time(e.time)]);
    if (e.count > 1) {
      rows.push(['Count', String(e.count)]);
    }
    rows.push(['Detected', detected(e.span)]);
    rows.push([e.kind === 'revert' ? 'Reverted fix' : 'Action', e.action]);
    rows.push([e.kind === 'revert' ? 'Revert' : 'Outcome', eventOutcomeText(e)]);
    const note = e.kind === 'revert' ? REVERT_NOTE[e.outcome] : OUTCOME_NOTE[e.outcome];
    if (note) {
      rows.push(['Meaning', note]);
    }
    if (e.span && e.kind === 'action') {
      rows.push([
        'Recovery',
        e.recoveredAfterMs === undefined
          ? `not recovered yet (anomalous for ${formatDuration(e.span.end - e.span.start)})`
          : `${formatDuration(e.recoveredAfterMs)} after the action (anomaly lasted ${formatDuration(e.span.end - e.span.start)})`,
      ]);
    }
  } else if (target.kind === 'demotion') {
    const d = target.demotion;
    title = demotionText(d);
    rows.push(['Service', service]);
    rows.push(['Target', d.target]);
    rows.push(['Action', d.action]);
    rows.push(['Since', time(d.start)]);
    rows.push(['Until', d.open ? 'still demoted' : `lifted by ${time(d.end)}`]);
    rows.push(['Meaning', DEMOTION_NOTE]);
  } else {
    const s = target.span;
    title = `Anomaly · ${s.feature ?? 'unknown feature'}`;
    rows.push(['Service', service]);
    rows.push(['From', time(s.start)]);
    rows.push(['To', s.open ? 'ongoing' : time(s.end)]);
    rows.push(['Duration', formatDuration(s.end - s.start)]);
    rows.push(['Peak score', `${formatScore(s.peakScore)} at ${time(s.peakTime)}`]);
    const attr = attribution(s);
    if (attr) {
      rows.push(['Attribution', attr]);
    }
  }
  return (
    <Portal>
      <VizTooltipContainer position={{ x, y }} offset={{ x: 12, y: 12 }} data-testid="selfheal-tooltip">
        <div className={styles.tooltipTitle}>{title}</div>
        <table className={styles.tooltipTable}>
          <tbody>
            {rows.map(([k, v]) => (
              <tr key={k}>
                <th scope="row">{k}</th>
                <td>{v}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {hasLink && target.kind === 'event' && <div className={styles.tooltipHint}>Click to open the link for this time range</div>}
      </VizTooltipContainer>
    </Portal>
  );
}
