// Reads labelled numeric series out of Grafana data frames, whatever their layout: one frame per series
// (Prometheus "time series" format) or wide frames with several labelled number fields.
import { type DataFrame, FieldType } from '@grafana/data';

import type { HealthTimelineOptions } from '../types';
import type { QueryRole } from './model';

export interface LabelledSeries {
  refId?: string;
  /** The value field's name: the metric name in Grafana's dataplane frames, often just "Value" otherwise. */
  fieldName?: string;
  labels: Record<string, string>;
  times: number[];
  values: Array<number | null>;
}

/** The option that names each role's metric (or refId). */
export const ROLE_OPTION: Record<QueryRole, keyof HealthTimelineOptions> = {
  health: 'healthQuery',
  anomaly: 'anomalyQuery',
  topFeature: 'topFeatureQuery',
  featureScore: 'featureScoreQuery',
  lastAction: 'lastActionQuery',
  actionsTotal: 'actionsTotalQuery',
  revertsTotal: 'revertsTotalQuery',
  demotions: 'demotionsQuery',
};

export const ROLES = Object.keys(ROLE_OPTION) as QueryRole[];

function toNumber(v: unknown): number | null {
  if (typeof v === 'number') {
    return Number.isFinite(v) ? v : null;
  }
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

function toTime(v: unknown): number | null {
  if (typeof v === 'number') {
    return v;
  }
  if (v instanceof Date) {
    return v.getTime();
  }
  if (typeof v === 'string') {
    const t = Date.parse(v);
    return Number.isNaN(t) ? null : t;
  }
  return null;
}

/** The array itself when every entry is already a number or null (the usual case: no copy), else a converted copy. */
function numbers(values: ArrayLike<unknown>, convert: (v: unknown) => number | null): Array<number | null> {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== null && typeof v !== 'number') {
      return Array.from(values, convert);
    }
  }
  return values as Array<number | null>;
}

/** Every labelled number field of every frame, with the frame's time field. */
export function extractSeries(frames: DataFrame[]): LabelledSeries[] {
  const out: LabelledSeries[] = [];
  for (const frame of frames) {
    const timeField = frame.fields.find((f) => f.type === FieldType.time);
    if (!timeField) {
      continue;
    }
    let times = numbers(timeField.values, toTime);
    let keep: number[] | undefined;
    if (times.includes(null)) {
      keep = [];
      times.forEach((t, i) => t !== null && keep!.push(i));
      times = keep.map((i) => times[i]!);
    }
    for (const field of frame.fields) {
      if (field === timeField || (field.type !== FieldType.number && field.type !== FieldType.string)) {
        continue;
      }
      const all = numbers(field.values, toNumber);
      const values = keep ? keep.map((i) => all[i] ?? null) : all;
      if (field.type === FieldType.string && values.every((v) => v === null)) {
        continue;
      }
      out.push({ refId: frame.refId, fieldName: field.name, labels: { ...(field.labels ?? {}) }, times: times as number[], values });
    }
  }
  return out;
}

/**
 * The role of a series: its metric name first (the `__name__` label, or the value field's name where Grafana's
 * Prometheus data source follows the dataplane contract and moves `__name__` there), then its query's refId.
 */
export function roleOf(series: LabelledSeries, options: HealthTimelineOptions): QueryRole | undefined {
  for (const name of [series.labels.__name__, series.fieldName]) {
    const byName = name === undefined ? undefined : ROLES.find((role) => options[ROLE_OPTION[role]] === name);
    if (byName) {
      return byName;
    }
  }
  if (series.refId !== undefined) {
    return ROLES.find((role) => options[ROLE_OPTION[role]] === series.refId);
  }
  return undefined;
}

export function groupByRole(frames: DataFrame[], options: HealthTimelineOptions): Map<QueryRole, LabelledSeries[]> {
  const byRole = new Map<QueryRole, LabelledSeries[]>();
  for (const series of extractSeries(frames)) {
    const role = roleOf(series, options);
    if (role) {
      const list = byRole.get(role) ?? [];
      list.push(series);
      byRole.set(role, list);
    }
  }
  return byRole;
}

/**
 * Merges the series of one service (several groups or instances) into one, sample-wise with `pick`
 * (min for health, max for anomaly score). Null samples are skipped.
 */
export function mergeSeries(list: LabelledSeries[], pick: (a: number, b: number) => number): { times: number[]; values: number[] } {
  if (list.length === 1) {
    const only = list[0]!;
    const times: number[] = [];
    const values: number[] = [];
    for (let i = 0; i < only.times.length; i++) {
      const v = only.values[i];
      if (v !== null && v !== undefined && !Number.isNaN(v)) {
        times.push(only.times[i]!);
        values.push(v);
      }
    }
    return { times, values };
  }
  const merged = new Map<number, number>();
  for (const s of list) {
    for (let i = 0; i < s.times.length; i++) {
      const v = s.values[i];
      if (v === null || v === undefined || Number.isNaN(v)) {
        continue;
      }
      const t = s.times[i]!;
      const prev = merged.get(t);
      merged.set(t, prev === undefined ? v : pick(prev, v));
    }
  }
  const times = [...merged.keys()].sort((a, b) => a - b);
  return { times, values: times.map((t) => merged.get(t)!) };
}
