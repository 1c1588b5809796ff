// A page that hosts the built plugin the way Grafana does: it provides the modules Grafana shares with
// plugins (react, @grafana/data, @grafana/ui, @grafana/runtime, @emotion/css) to the AMD `dist/module.js`,
// applies field config like Grafana's query runner, and renders `plugin.panel` inside PanelChrome with
// Grafana's theme and global styles. Driven by test/browser.test.ts through window.selfheal.
import './grafanaBoot';

import * as emotionCss from '@emotion/css';
import * as grafanaData from '@grafana/data';
import {
  applyFieldOverrides,
  createTheme,
  DashboardCursorSync,
  type DataFrame,
  type FieldConfigSource,
  dateTime,
  EventBusSrv,
  FieldType,
  type InterpolateFunction,
  LoadingState,
  type PanelPlugin,
  ThemeContext,
} from '@grafana/data';
import * as grafanaRuntime from '@grafana/runtime';
import * as grafanaUi from '@grafana/ui';
import { GlobalStyles, PanelChrome, PanelContextProvider } from '@grafana/ui';
import * as React from 'react';
import * as ReactDOM from 'react-dom';
import { createRoot, type Root } from 'react-dom/client';
import * as jsxRuntime from 'react/jsx-runtime';

import type { HealthTimelineOptions } from '../../src/types';
import { shapeData } from '../../src/data/shape';
import { DEFAULT_OPTIONS } from '../../src/types';
import { buildFrames, demoScenario, manyServicesScenario } from '../fixtures/scenario';

type Scenario = 'demo' | 'many' | 'unusable';

export interface RenderRequest {
  theme: 'dark' | 'light';
  scenario: Scenario;
  width: number;
  height: number;
  /** Fixed "now" so screenshots repeat. */
  to: number;
  hours: number;
  stepMs: number;
  services?: number;
  options?: Partial<HealthTimelineOptions>;
  /** The panel's field config as saved in a dashboard (default: the plugin's defaults). */
  fieldConfig?: FieldConfigSource;
  /**
   * Frames as Grafana's Prometheus data source returns them under the dataplane contract: the metric name is the
   * value field's name (no `__name__` label) and the refId is the query's (here: the metric name, as in the
   * provisioned dashboard).
   */
  dataplane?: boolean;
}

export interface ShapingFigures {
  samples: number;
  /** Reference: one plain pass over every sample (the least any panel must do). */
  scanMs: number;
  /** The panel's data shaping (src/data/shape.ts) alone. */
  shapeMs: number;
}

export interface RenderResult {
  /** From the render call to the first paint after React committed, in ms. */
  renderMs: number;
  shapeInputSeries: number;
  samples: number;
}

declare global {
  interface Window {
    define?: ((deps: string[], factory: (...mods: unknown[]) => unknown) => void) & { amd?: object };
    __grafana_public_path__?: string;
    selfheal?: {
      render: (req: RenderRequest) => Promise<RenderResult>;
      measureShaping: (req: RenderRequest) => ShapingFigures;
      measureHover: (index: number) => Promise<number>;
      published: unknown[];
      navigations: string[];
    };
  }
}

window.__grafana_public_path__ = '/public/';

const shared: Record<string, unknown> = {
  react: React,
  'react-dom': ReactDOM,
  'react/jsx-runtime': jsxRuntime,
  '@grafana/data': grafanaData,
  '@grafana/ui': grafanaUi,
  '@grafana/runtime': grafanaRuntime,
  '@emotion/css': emotionCss,
  module: { uri: '/dist/module.js' },
};

function loadPlugin(): Promise<PanelPlugin<HealthTimelineOptions>> {
  return new Promise((resolve, reject) => {
    const define = (deps: string[], factory: (...mods: unknown[]) => unknown) => {
      const missing = deps.filter((d) => !(d in shared));
      if (missing.length) {
        reject(new Error(`module.js needs modules the harness does not share: ${missing.join(', ')}`));
        return;
      }
      const exports = factory(...deps.map((d) => shared[d])) as { plugin?: PanelPlugin<HealthTimelineOptions> };
      if (!exports.plugin) {
        reject(new Error('module.js does not export `plugin`'));
        return;
      }
      resolve(exports.plugin);
    };
    window.define = Object.assign(define, { amd: {} });
    const script = document.createElement('script');
    script.src = '/dist/module.js';
    script.onerror = () => reject(new Error('cannot load /dist/module.js'));
    document.head.appendChild(script);
  });
}

const pluginPromise = loadPlugin();
let root: Root | undefined;
const eventBus = new EventBusSrv();
const published: unknown[] = [];
eventBus.subscribe(grafanaData.DataHoverEvent, (e) => published.push(e.payload.point));

function framesFor(req: RenderRequest): DataFrame[] {
  const w = { from: req.to - req.hours * 3600_000, to: req.to, stepMs: req.stepMs };
  switch (req.scenario) {
    case 'demo':
      return buildFrames(demoScenario(), w);
    case 'many':
      return buildFrames(manyServicesScenario(req.services ?? 50, w), w);
    case 'unusable':
      return [
        {
          refId: 'A',
          length: 1,
          fields: [
            { name: 'Time', type: FieldType.time, config: {}, values: [req.to] },
            { name: 'Value', type: FieldType.number, config: {}, values: [1], labels: { __name__: 'up', job: 'node' } },
          ],
        },
      ];
  }
}

function toDataplane(frame: DataFrame): DataFrame {
  const value = frame.fields[1]!;
  const { __name__: name = 'Value', ...labels } = value.labels ?? {};
  return { ...frame, refId: name, name: undefined, fields: [frame.fields[0]!, { ...value, name, labels }] };
}

async function render(req: RenderRequest): Promise<RenderResult> {
  const plugin = await pluginPromise;
  const Panel = plugin.panel!;
  const theme = createTheme({ colors: { mode: req.theme } });
  document.body.style.background = theme.colors.background.canvas;
  const frames = req.dataplane ? framesFor(req).map(toDataplane) : framesFor(req);
  const replaceVariables: InterpolateFunction = (value, scopedVars) =>
    value.replace(/\$\{(\w+)\}/g, (m, name: string) => String(scopedVars?.[name]?.value ?? m));
  const fieldConfig = req.fieldConfig ?? plugin.fieldConfigDefaults;
  const series = applyFieldOverrides({ data: frames, fieldConfig, fieldConfigRegistry: plugin.fieldConfigRegistry, replaceVariables, theme, timeZone: 'utc' });
  const from = dateTime(req.to - req.hours * 3600_000);
  const to = dateTime(req.to);
  const timeRange = { from, to, raw: { from: `now-${req.hours}h`, to: 'now' } };
  const options = { ...(plugin.defaults as HealthTimelineOptions), ...req.options };
  const context = { eventsScope: 'global', eventBus, sync: () => DashboardCursorSync.Crosshair };

  root?.unmount();
  const container = document.getElementById('root')!;
  root = createRoot(container);
  const start = performance.now();
  await new Promise<void>((done) => {
    const Painted = ({ children }: { children: React.ReactNode }) => {
      React.useEffect(() => {
        requestAnimationFrame(() => setTimeout(done, 0));
      }, []);
      return <>{children}</>;
    };
    root!.render(
      <ThemeContext.Provider value={theme}>
        <GlobalStyles />
        <div style={{ padding: 16, display: 'inline-block' }} data-testid="harness-frame">
          <PanelContextProvider value={context}>
            <Painted>
              <PanelChrome title="Service health and healing" width={req.width} height={req.height}>
                {(innerWidth, innerHeight) => (
                  <Panel
                    id={1}
                    title="Service health and healing"
                    data={{ state: LoadingState.Done, series, timeRange }}
                    timeRange={timeRange}
                    timeZone="utc"
                    options={options}
                    fieldConfig={fieldConfig}
                    transparent={false}
                    width={innerWidth}
                    height={innerHeight}
                    renderCounter={0}
                    eventBus={eventBus}
                    onOptionsChange={() => undefined}
                    onFieldConfigChange={() => undefined}
                    onChangeTimeRange={() => undefined}
                    replaceVariables={replaceVariables}
                  />
                )}
              </PanelChrome>
            </Painted>
          </PanelContextProvider>
        </div>
      </ThemeContext.Provider>
    );
  });
  return {
    renderMs: performance.now() - start,
    shapeInputSeries: frames.length,
    samples: frames.reduce((n, f) => n + f.length, 0),
  };
}

/** Shaping cost against a plain scan of the same frames, in the same page. */
function measureShaping(req: RenderRequest): ShapingFigures {
  const frames = framesFor(req);
  let t = performance.now();
  let acc = 0;
  for (const f of frames) {
    const values = f.fields[1]!.values;
    let min = Infinity;
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as number | null;
      if (v !== null && v < min) {
        min = v;
      }
    }
    acc += min;
  }
  const scanMs = performance.now() - t;
  t = performance.now();
  const shaped = shapeData(frames, DEFAULT_OPTIONS, { from: req.to - req.hours * 3600_000, to: req.to });
  const shapeMs = performance.now() - t;
  if (!Number.isFinite(acc) || shaped.services.length === 0) {
    throw new Error('nothing measured');
  }
  return { samples: frames.reduce((n, f) => n + f.length, 0), scanMs, shapeMs };
}

/** From a mouse move over the index-th action marker to its tooltip in the DOM, in ms (in the page: no driver round trips). */
function measureHover(index: number): Promise<number> {
  const marker = document.querySelectorAll('[data-testid="selfheal-event"]')[index];
  if (!marker) {
    return Promise.reject(new Error(`no marker ${index}`));
  }
  const box = marker.getBoundingClientRect();
  return new Promise((resolve) => {
    const start = performance.now();
    const done = () => {
      if (document.querySelector('[data-testid="selfheal-tooltip"]')) {
        observer.disconnect();
        resolve(performance.now() - start);
      }
    };
    const observer = new MutationObserver(done);
    observer.observe(document.body, { childList: true, subtree: true });
    marker.dispatchEvent(new MouseEvent('mousemove', { bubbles: true, clientX: box.x + box.width / 2, clientY: box.y + box.height / 2 }));
    done();
  });
}

const navigations: string[] = [];
grafanaRuntime.locationService.getHistory().listen((location: { pathname: string; search: string }) => navigations.push(location.pathname + location.search));
window.selfheal = { render, measureShaping, measureHover, published, navigations };
