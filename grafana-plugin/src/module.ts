import { FieldConfigProperty, PanelPlugin } from '@grafana/data';

import { DEFAULT_THRESHOLDS, HealthTimelinePanel } from './components/HealthTimelinePanel';
import { DEFAULT_OPTIONS as D, type HealthTimelineOptions } from './types';

const QUERIES = 'Queries (metric name or query refId)';
const LABELS = 'Labels';
const DISPLAY = 'Display';

export const plugin = new PanelPlugin<HealthTimelineOptions>(HealthTimelinePanel)
  .useFieldConfig({
    // Only thresholds matter (they colour the health score); the other standard options do not apply.
    disableStandardOptions: Object.values(FieldConfigProperty).filter((p) => p !== FieldConfigProperty.Thresholds),
    standardOptions: {
      [FieldConfigProperty.Thresholds]: { defaultValue: DEFAULT_THRESHOLDS },
    },
  })
  .setPanelOptions((builder) =>
    builder
      .addTextInput({ path: 'healthQuery', name: 'Health score', category: [QUERIES], defaultValue: D.healthQuery, description: '0-100 per service, 100 = healthy' })
      .addTextInput({ path: 'anomalyQuery', name: 'Anomaly score', category: [QUERIES], defaultValue: D.anomalyQuery, description: 'Above the threshold = anomalous' })
      .addTextInput({ path: 'topFeatureQuery', name: 'Top feature', category: [QUERIES], defaultValue: D.topFeatureQuery, description: 'Info series (=1) whose feature label drives the anomaly' })
      .addTextInput({ path: 'featureScoreQuery', name: 'Feature attribution', category: [QUERIES], defaultValue: D.featureScoreQuery, description: 'Per-feature scores (optional)' })
      .addTextInput({ path: 'lastActionQuery', name: 'Last action timestamp', category: [QUERIES], defaultValue: D.lastActionQuery, description: 'Gauge of the last action time in seconds, per service, action and outcome' })
      .addTextInput({ path: 'actionsTotalQuery', name: 'Actions counter', category: [QUERIES], defaultValue: D.actionsTotalQuery, description: 'Counter of actions (optional): adds actions the timestamp samples missed' })
      .addTextInput({ path: 'revertsTotalQuery', name: 'Reverts counter', category: [QUERIES], defaultValue: D.revertsTotalQuery, description: 'Counter of reverts of fixes (optional), per service, action and outcome: drawn as U-turn arrows' })
      .addTextInput({ path: 'demotionsQuery', name: 'Demotions', category: [QUERIES], defaultValue: D.demotionsQuery, description: 'Gauge, 1 while an action is demoted to approve mode on a target (optional): drawn as a band on the row of the service named like the target' })
      .addTextInput({ path: 'serviceLabel', name: 'Service label', category: [LABELS], defaultValue: D.serviceLabel })
      .addTextInput({ path: 'featureLabel', name: 'Feature label', category: [LABELS], defaultValue: D.featureLabel })
      .addTextInput({ path: 'actionLabel', name: 'Action label', category: [LABELS], defaultValue: D.actionLabel })
      .addTextInput({ path: 'outcomeLabel', name: 'Outcome label', category: [LABELS], defaultValue: D.outcomeLabel })
      .addTextInput({ path: 'targetLabel', name: 'Target label', category: [LABELS], defaultValue: D.targetLabel, description: 'Of the demotions gauge' })
      .addNumberInput({ path: 'anomalyThreshold', name: 'Anomaly threshold', category: [DISPLAY], defaultValue: D.anomalyThreshold, description: 'Scores above it are shaded as anomalous periods' })
      .addRadio({
        path: 'sortBy',
        name: 'Order',
        category: [DISPLAY],
        defaultValue: D.sortBy,
        settings: { options: [{ value: 'worst', label: 'Worst first' }, { value: 'name', label: 'By name' }] },
      })
      .addNumberInput({ path: 'pageSize', name: 'Services per page', category: [DISPLAY], defaultValue: D.pageSize, description: '0: one scrolling list', settings: { min: 0, integer: true } })
      .addSliderInput({ path: 'rowHeight', name: 'Row height', category: [DISPLAY], defaultValue: D.rowHeight, settings: { min: 28, max: 80, step: 2 } })
      .addBooleanSwitch({ path: 'showSparkline', name: 'Health sparkline', category: [DISPLAY], defaultValue: D.showSparkline })
      .addBooleanSwitch({ path: 'showLegend', name: 'Legend', category: [DISPLAY], defaultValue: D.showLegend })
      .addTextInput({
        path: 'eventLink',
        name: 'Event link',
        category: ['Links'],
        defaultValue: D.eventLink,
        description: 'Opened when an action is clicked. Variables: ${__from}, ${__to} (the anomaly ± 5 min), ${service}, ${action}, ${outcome}',
        settings: { placeholder: '/d/selfheal-overview?from=${__from}&to=${__to}&var-service=${service}' },
      })
      .addBooleanSwitch({ path: 'eventLinkNewTab', name: 'Open in a new tab', category: ['Links'], defaultValue: D.eventLinkNewTab, showIf: (o) => Boolean(o.eventLink) })
  );
