// What Grafana sets up before any plugin loads, in the harness: the boot data @grafana/runtime's config
// reads, and the option editor registries Grafana's core fills (the panel's option builder looks its
// editors up by id; the editors themselves are never shown here). Import this before @grafana/runtime.
import {
  FieldConfigProperty,
  standardEditorsRegistry,
  standardFieldConfigEditorRegistry,
  type StandardEditorsRegistryItem,
  type FieldConfigPropertyItem,
  type ThresholdsConfig,
  ThresholdsMode,
} from '@grafana/data';

declare global {
  interface Window {
    grafanaBootData?: unknown;
  }
}

window.grafanaBootData = {
  assets: { dark: '', light: '' },
  settings: { appSubUrl: '', featureToggles: {}, buildInfo: { version: '12.4.10', edition: 'Open Source' } },
  user: { timezone: 'utc', theme: 'dark' },
  navTree: [],
};

const Editor = () => null;
const EDITORS = ['text', 'number', 'radio', 'boolean', 'slider', 'select', 'multi-select', 'color', 'unit', 'thresholds', 'links', 'mappings'];
standardEditorsRegistry.setInit(() => EDITORS.map((id): StandardEditorsRegistryItem => ({ id, name: id, editor: Editor })));

const thresholds: FieldConfigPropertyItem<unknown, ThresholdsConfig> = {
  id: FieldConfigProperty.Thresholds,
  path: FieldConfigProperty.Thresholds,
  name: 'Thresholds',
  editor: Editor,
  override: Editor,
  process: (value) => value,
  shouldApply: () => true,
  defaultValue: {
    mode: ThresholdsMode.Absolute,
    steps: [
      { value: -Infinity, color: 'green' },
      { value: 80, color: 'red' },
    ],
  },
  category: ['Thresholds'],
};
standardFieldConfigEditorRegistry.setInit(() => [thresholds as unknown as FieldConfigPropertyItem]);
