// What the shapes and shades mean.
import { useTheme2 } from '@grafana/ui';
import { OUTCOMES } from '@selfheal/contracts/actions';
import React from 'react';

import { outcomeText } from '../format';
import { MarkerShape } from './Marker';
import { outcomeColor, type PanelStyles, spanColors } from './styles';

export function Legend({ styles, threshold, note }: { styles: PanelStyles; threshold: number; note?: string }) {
  const theme = useTheme2();
  const anomaly = spanColors(theme, 1);
  const critical = spanColors(theme, 3);
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
      {note && <span className={styles.warning}>{note}</span>}
    </div>
  );
}
