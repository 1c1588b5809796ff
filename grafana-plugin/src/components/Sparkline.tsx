// The health history of one service as a small line, on a fixed 0-100 scale.
import React from 'react';

import { downsampleMin } from '../data/downsample';
import type { Series } from '../data/model';

export interface SparklineProps {
  series: Series;
  from: number;
  to: number;
  width: number;
  height: number;
  color: string;
}

export function Sparkline({ series, from, to, width, height, color }: SparklineProps) {
  if (width <= 4 || series.times.length === 0) {
    return null;
  }
  const points = downsampleMin(series, from, to, width);
  const span = Math.max(1, to - from);
  const pad = 1.5;
  const xy = points.times.map((t, i) => {
    const x = ((t - from) / span) * width;
    const v = Math.min(100, Math.max(0, points.values[i]!));
    const y = pad + (1 - v / 100) * (height - 2 * pad);
    return `${x.toFixed(1)},${y.toFixed(1)}`;
  });
  return (
    <svg width={width} height={height} aria-hidden="true">
      <polyline points={xy.join(' ')} fill="none" stroke={color} strokeWidth={1.25} strokeLinejoin="round" />
    </svg>
  );
}
