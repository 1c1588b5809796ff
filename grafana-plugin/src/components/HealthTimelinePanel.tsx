// The panel: per service, health now (large, coloured by thresholds) with its history, and a timeline of
// anomaly periods and healing actions over the dashboard's time range.
import {
  DashboardCursorSync,
  DataHoverClearEvent,
  DataHoverEvent,
  getActiveThreshold,
  locationUtil,
  type PanelProps,
  type ThresholdsConfig,
  ThresholdsMode,
} from '@grafana/data';
import { locationService, PanelDataErrorView } from '@grafana/runtime';
import { Pagination, ScrollContainer, usePanelContext, useStyles2, useTheme2 } from '@grafana/ui';
import React, { useCallback, useEffect, useMemo, useRef, useState } from 'react';

import { eventLinkVars, expectedQueriesMessage, healthThresholds } from '../panelData';
import { hasUsableData, shapeData } from '../data/shape';
import type { HealingEvent } from '../data/model';
import type { HealthTimelineOptions } from '../types';
import { Legend } from './Legend';
import { type HoverTarget, ServiceRow } from './ServiceRow';
import { getStyles, AXIS_HEIGHT, LEGEND_HEIGHT, PAGINATION_HEIGHT } from './styles';
import { TimeAxis } from './TimeAxis';
import { TimelineTooltip } from './TimelineTooltip';

export const DEFAULT_THRESHOLDS: ThresholdsConfig = {
  mode: ThresholdsMode.Absolute,
  steps: [
    { value: -Infinity, color: 'red' },
    { value: 50, color: 'orange' },
    { value: 80, color: 'green' },
  ],
};

interface Hover {
  service: string;
  target: HoverTarget;
  x: number;
  y: number;
}

export function HealthTimelinePanel(props: PanelProps<HealthTimelineOptions>) {
  const { data, options, width, height, timeRange, timeZone, fieldConfig, id, replaceVariables, eventBus } = props;
  const theme = useTheme2();
  const styles = useStyles2(getStyles);
  const panelContext = usePanelContext();
  const from = timeRange.from.valueOf();
  const to = timeRange.to.valueOf();

  const shaped = useMemo(() => shapeData(data.series, options, { from, to }), [data.series, options, from, to]);
  const thresholds = useMemo(
    () => healthThresholds(data.series, options) ?? fieldConfig.defaults.thresholds ?? DEFAULT_THRESHOLDS,
    [data.series, options, fieldConfig.defaults.thresholds]
  );
  const colorOf = useCallback(
    (value: number | undefined) =>
      value === undefined
        ? theme.colors.text.disabled
        : theme.visualization.getColorByName(getActiveThreshold(value, thresholds.steps).color),
    [theme, thresholds]
  );

  const [page, setPage] = useState(1);
  const [hover, setHover] = useState<Hover | undefined>();
  const [cursorTime, setCursorTime] = useState<number | undefined>();
  const [externalTime, setExternalTime] = useState<number | undefined>();
  const trackRef = useRef<HTMLDivElement>(null);

  const sync = panelContext.sync?.() ?? DashboardCursorSync.Off;

  // Other panels' cursors (shared crosshair / tooltip dashboards) draw a line here too.
  useEffect(() => {
    if (sync === DashboardCursorSync.Off) {
      return undefined;
    }
    const subs = [
      eventBus.getStream(DataHoverEvent).subscribe((e) => {
        const t = e.payload.point.time;
        if (e.origin !== eventBus && typeof t === 'number') {
          setExternalTime(t);
        }
      }),
      eventBus.getStream(DataHoverClearEvent).subscribe((e) => {
        if (e.origin !== eventBus) {
          setExternalTime(undefined);
        }
      }),
    ];
    return () => subs.forEach((s) => s.unsubscribe());
  }, [eventBus, sync]);

  const paging = options.pageSize > 0 && shaped.services.length > options.pageSize;
  const pages = paging ? Math.ceil(shaped.services.length / options.pageSize) : 1;
  const currentPage = Math.min(page, pages);
  const visible = paging
    ? shaped.services.slice((currentPage - 1) * options.pageSize, currentPage * options.pageSize)
    : shaped.services;

  const labelWidth = Math.round(Math.min(280, Math.max(140, width * 0.25)));
  const trackWidth = Math.max(40, width - labelWidth - 8);

  const onHover = useCallback((service: string, target: HoverTarget | undefined, x: number, y: number) => {
    setHover(target ? { service, target, x, y } : undefined);
  }, []);

  const onEventClick = useCallback(
    (event: HealingEvent) => {
      if (!options.eventLink) {
        return;
      }
      const url = replaceVariables(options.eventLink, eventLinkVars(event, to));
      if (options.eventLinkNewTab) {
        window.open(url, '_blank', 'noopener');
      } else if (/^https?:\/\//.test(url)) {
        window.location.assign(url);
      } else {
        locationService.push(locationUtil.stripBaseFromUrl(url));
      }
    },
    [options.eventLink, options.eventLinkNewTab, replaceVariables, to]
  );

  const onTrackMove = (e: React.MouseEvent<HTMLDivElement>) => {
    const box = trackRef.current?.getBoundingClientRect();
    if (!box) {
      return;
    }
    const x = e.clientX - box.left - labelWidth;
    if (x < 0 || x > trackWidth) {
      onTrackLeave();
      return;
    }
    const t = from + (x / trackWidth) * (to - from);
    setCursorTime(t);
    if (sync !== DashboardCursorSync.Off) {
      eventBus.publish(new DataHoverEvent({ point: { time: t } }));
    }
  };
  const onTrackLeave = () => {
    setCursorTime(undefined);
    if (sync !== DashboardCursorSync.Off) {
      eventBus.publish(new DataHoverClearEvent());
    }
  };

  if (!hasUsableData(shaped)) {
    return (
      <PanelDataErrorView
        panelId={id}
        fieldConfig={fieldConfig}
        data={data}
        message={expectedQueriesMessage(options)}
        needsNumberField
      />
    );
  }

  const listHeight = height - AXIS_HEIGHT - (options.showLegend ? LEGEND_HEIGHT : 0) - (paging ? PAGINATION_HEIGHT : 0);
  const lineTime = cursorTime ?? externalTime;
  const lineX = lineTime === undefined ? undefined : labelWidth + ((lineTime - from) / Math.max(1, to - from)) * trackWidth;
  const missingNote =
    shaped.missing.includes('health') || shaped.missing.includes('anomaly')
      ? `no ${shaped.missing.includes('health') ? options.healthQuery : options.anomalyQuery} series`
      : undefined;

  return (
    <div className={styles.root} data-testid="selfheal-panel" style={{ width, height }}>
      <TimeAxis
        from={from}
        to={to}
        labelWidth={labelWidth}
        trackWidth={trackWidth}
        timeZone={timeZone}
        styles={styles}
        title={`${shaped.services.length} service${shaped.services.length === 1 ? '' : 's'}`}
      />
      <div className={styles.listWrap} style={{ height: listHeight }} ref={trackRef} onMouseMove={onTrackMove} onMouseLeave={onTrackLeave}>
        <ScrollContainer height={listHeight} showScrollIndicators>
          {visible.map((s) => (
            <ServiceRow
              key={s.service}
              timeline={s}
              from={from}
              to={to}
              labelWidth={labelWidth}
              trackWidth={trackWidth}
              height={options.rowHeight}
              healthColor={colorOf(s.currentHealth)}
              showSparkline={options.showSparkline}
              styles={styles}
              onHover={onHover}
              onEventClick={onEventClick}
            />
          ))}
        </ScrollContainer>
        {lineX !== undefined && lineX >= labelWidth && lineX <= labelWidth + trackWidth && (
          <div className={styles.crosshair} style={{ left: lineX }} data-testid="selfheal-crosshair" />
        )}
      </div>
      {paging && (
        <div className={styles.pagination}>
          <Pagination currentPage={currentPage} numberOfPages={pages} onNavigate={setPage} hideWhenSinglePage />
        </div>
      )}
      {options.showLegend && (
        <Legend styles={styles} threshold={options.anomalyThreshold} note={missingNote} />
      )}
      {hover && (
        <TimelineTooltip
          service={hover.service}
          target={hover.target}
          x={hover.x}
          y={hover.y}
          timeZone={timeZone}
          styles={styles}
          hasLink={Boolean(options.eventLink)}
        />
      )}
    </div>
  );
}
