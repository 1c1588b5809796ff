// What the shapes and shades mean.
import { useTheme2 } from '@grafana/ui';
import { OUTCOMES } from '@selfheal/contracts/actions';
import React from 'react';

import { outcomeText, revertText } from '../format';
import { MarkerShape, RevertShape } from './Marker';
import { demotionColors, outcomeColor, type PanelStyles, revertColor, spanColors } from './styles';

export function Legend({ styles, threshold, note }: { styles: PanelStyles; threshold: number; note?: string }) {
  const theme = useTheme2();
  const anomaly = spanColors(theme, 1);
  const critical = spanColors(theme, 3);
  const demoted = demotionColors(theme);
  return (
    <div className={styles.legend} aria-label="legend">
      <span className={styles.legendItem}>
        <svg width={18} height={12} aria-hidden="true">
          <rect x={1} y={1} width={16} height={10} rx={2} fill={anomaly.fill} stroke={anomaly.stroke} strokeOpacity={0.6} />
        </svg>
        Anomaly (score &gt; {threshold})
      </span>
      <span className={styles.legendItem}>
        <svg width={18} height={12} aria-hidden="true">
          <rect x={1} y={1} width={16} height={10} rx={2} fill={critical.fill} stroke={critical.stroke} strokeOpacity={0.6} />
        </svg>
        Critical (&ge; 3)
      </span>
      {OUTCOMES.map((o) => (
        <span key={o} className={styles.legendItem}>
          <svg width={14} height={14} aria-hidden="true">
            <MarkerShape outcome={o} x={7} y={7} size={11} color={outcomeColor(theme, o)} background={theme.colors.background.primary} />
          </svg>
          {outcomeText(o)}
        </span>
      ))}
      {(['reverted', 'reapplied'] as const).map((o) => (
        <span key={`revert-${o}`} className={styles.legendItem}>
          <svg width={14} height={14} aria-hidden="true">
            <RevertShape outcome={o} x={7} y={7} size={11} color={revertColor(theme, o)} background={theme.colors.background.primary} />
          </svg>
          {revertText(o)}
        </span>
      ))}
      <span className={styles.legendItem}>
        <svg width={18} height={12} aria-hidden="true">
          <rect x={1} y={3} width={16} height={6} rx={1} fill={demoted.fill} stroke={demoted.stroke} />
        </svg>
        Demoted to approve
      </span>
      {note && <span className={styles.warning}>{note}</span>}
    </div>
  );
}
