// Theme-aware styles and colours: everything comes from the Grafana theme, so light and dark both fit.
import { css } from '@emotion/css';
import { colorManipulator, type GrafanaTheme2 } from '@grafana/data';

export const AXIS_HEIGHT = 22;
export const LEGEND_HEIGHT = 26;
export const PAGINATION_HEIGHT = 36;

export function outcomeColor(theme: GrafanaTheme2, outcome: string): string {
  switch (outcome) {
    case 'succeeded':
      return theme.visualization.getColorByName('green');
    case 'failed':
      return theme.visualization.getColorByName('red');
    case 'dry_run':
      return theme.visualization.getColorByName('blue');
    case 'skipped':
      return theme.colors.text.secondary;
    case 'unknown':
      return theme.visualization.getColorByName('purple');
    case 'deferred':
      return theme.visualization.getColorByName('yellow');
    case 'pending_approval':
      return theme.visualization.getColorByName('orange');
    case 'approved':
      return theme.visualization.getColorByName('green');
    case 'rejected':
      return theme.visualization.getColorByName('red');
    case 'expired':
      return theme.colors.text.secondary;
    default:
      return theme.colors.text.disabled;
  }
}

/** A revert's colour by how it ended: undone (blue-green), put back (dark orange), else like an action's outcome. */
export function revertColor(theme: GrafanaTheme2, outcome: string): string {
  switch (outcome) {
    case 'reverted':
      return theme.visualization.getColorByName('light-blue');
    case 'reapplied':
      return theme.visualization.getColorByName('dark-orange');
    default:
      return outcomeColor(theme, outcome);
  }
}

/** A demotion to approve mode: a purple band along the top of the row. */
export function demotionColors(theme: GrafanaTheme2): { fill: string; stroke: string } {
  const base = theme.visualization.getColorByName('dark-purple');
  return { fill: colorManipulator.alpha(base, theme.isDark ? 0.55 : 0.45), stroke: base };
}

/** Anomaly periods: orange, red from a score of 3 (the critical alert's threshold). */
export function spanColors(theme: GrafanaTheme2, peakScore: number): { fill: string; stroke: string } {
  const base = theme.visualization.getColorByName(peakScore >= 3 ? 'red' : 'orange');
  return { fill: colorManipulator.alpha(base, theme.isDark ? 0.28 : 0.22), stroke: base };
}

export const getStyles = (theme: GrafanaTheme2) => ({
  root: css({ display: 'flex', flexDirection: 'column', height: '100%', width: '100%', overflow: 'hidden', position: 'relative' }),
  axisRow: css({ display: 'flex', flex: `0 0 ${AXIS_HEIGHT}px`, borderBottom: `1px solid ${theme.colors.border.weak}` }),
  axisLabel: css({
    fontSize: theme.typography.bodySmall.fontSize,
    color: theme.colors.text.secondary,
    display: 'flex',
    alignItems: 'center',
    paddingLeft: theme.spacing(0.5),
  }),
  listWrap: css({ position: 'relative', flex: 'none', minHeight: 0 }),
  row: css({
    display: 'flex',
    alignItems: 'stretch',
    borderBottom: `1px solid ${theme.colors.border.weak}`,
    '&:hover': { background: theme.colors.action.hover },
  }),
  label: css({
    display: 'flex',
    alignItems: 'center',
    gap: theme.spacing(1),
    padding: theme.spacing(0, 1, 0, 0.5),
    overflow: 'hidden',
    flex: 'none',
  }),
  labelText: css({ display: 'flex', flexDirection: 'column', minWidth: 0, flex: '1 1 auto' }),
  serviceName: css({
    fontSize: theme.typography.bodySmall.fontSize,
    fontWeight: theme.typography.fontWeightMedium,
    color: theme.colors.text.primary,
    whiteSpace: 'nowrap',
    overflow: 'hidden',
    textOverflow: 'ellipsis',
  }),
  health: css({
    fontSize: theme.typography.h3.fontSize,
    fontWeight: theme.typography.fontWeightMedium,
    lineHeight: 1,
    fontVariantNumeric: 'tabular-nums',
    minWidth: 44,
    textAlign: 'right',
    flex: 'none',
  }),
  noValue: css({ color: theme.colors.text.disabled }),
  track: css({ flex: '1 1 auto', position: 'relative', minWidth: 0 }),
  marker: css({ cursor: 'pointer', outline: 'none', '&:focus-visible': { filter: `drop-shadow(0 0 2px ${theme.colors.primary.main})` } }),
  crosshair: css({
    position: 'absolute',
    top: 0,
    bottom: 0,
    width: 1,
    background: theme.colors.text.secondary,
    opacity: 0.6,
    pointerEvents: 'none',
  }),
  legend: css({
    display: 'flex',
    flexWrap: 'wrap',
    alignItems: 'center',
    gap: theme.spacing(2),
    flex: `0 0 ${LEGEND_HEIGHT}px`,
    height: LEGEND_HEIGHT,
    overflow: 'hidden',
    paddingTop: theme.spacing(0.5),
    whiteSpace: 'nowrap',
    fontSize: theme.typography.bodySmall.fontSize,
    color: theme.colors.text.secondary,
  }),
  legendItem: css({ display: 'inline-flex', alignItems: 'center', gap: theme.spacing(0.5) }),
  pagination: css({ display: 'flex', justifyContent: 'center', flex: `0 0 ${PAGINATION_HEIGHT}px`, alignItems: 'center' }),
  warning: css({ marginLeft: 'auto', fontSize: theme.typography.bodySmall.fontSize, color: theme.colors.warning.text, paddingLeft: theme.spacing(1) }),
  tooltipTitle: css({ fontWeight: theme.typography.fontWeightMedium, marginBottom: theme.spacing(0.5) }),
  tooltipTable: css({
    borderCollapse: 'collapse',
    'th, td': { padding: theme.spacing(0.125, 1, 0.125, 0), textAlign: 'left', verticalAlign: 'top' },
    th: { color: theme.colors.text.secondary, fontWeight: theme.typography.fontWeightRegular },
  }),
  tooltipHint: css({ marginTop: theme.spacing(0.5), color: theme.colors.text.secondary, fontSize: theme.typography.bodySmall.fontSize }),
});

export type PanelStyles = ReturnType<typeof getStyles>;
