import { dateTime, EventBusSrv, type FieldConfigSource, LoadingState, type PanelProps } from '@grafana/data';
import { locationService } from '@grafana/runtime';
import { OUTCOMES } from '@selfheal/contracts/actions';
import { fireEvent, render, screen, within } from '@testing-library/react';
import React from 'react';
import { describe, expect, it, vi } from 'vitest';

import { buildFrames, demoScenario, manyServicesScenario } from '../../test/fixtures/scenario';
import { DEFAULT_OPTIONS, type HealthTimelineOptions } from '../types';
import { HealthTimelinePanel } from './HealthTimelinePanel';

const TO = Date.UTC(2026, 10, 23, 18, 0, 0);
const FROM = TO - 6 * 3600_000;
const W = { from: FROM, to: TO, stepMs: 60_000 };

function props(overrides: Partial<HealthTimelineOptions> = {}, frames = buildFrames(demoScenario(), W)): PanelProps<HealthTimelineOptions> {
  const timeRange = { from: dateTime(FROM), to: dateTime(TO), raw: { from: 'now-6h', to: 'now' } };
  const fieldConfig: FieldConfigSource = { defaults: {}, overrides: [] };
  return {
    id: 1,
    title: 'Health',
    data: { state: LoadingState.Done, series: frames, timeRange },
    timeRange,
    timeZone: 'utc',
    options: { ...DEFAULT_OPTIONS, ...overrides },
    fieldConfig,
    transparent: false,
    width: 900,
    height: 400,
    renderCounter: 0,
    eventBus: new EventBusSrv(),
    onOptionsChange: () => undefined,
    onFieldConfigChange: () => undefined,
    onChangeTimeRange: () => undefined,
    replaceVariables: (v, scoped) => v.replace(/\$\{(\w+)\}/g, (m, name: string) => String(scoped?.[name]?.value ?? m)),
  };
}

describe('HealthTimelinePanel', () => {
  it('draws a row per service, worst first, with health values and markers for every outcome', () => {
    render(<HealthTimelinePanel {...props()} />);
    const rows = screen.getAllByTestId('selfheal-row');
    expect(rows.map((r) => r.getAttribute('data-service')).sort()).toEqual(['cart', 'catalog', 'checkout', 'inventory', 'payments', 'search']);
    expect(rows[0]!.getAttribute('data-service')).toBe('payments');
    const health = rows.map((r) => Number(within(r).getByTestId('selfheal-health').textContent));
    expect(health.every(Number.isFinite)).toBe(true);
    expect([...health].sort((a, b) => a - b)).toEqual(health);
    const outcomes = screen.getAllByTestId('selfheal-event').map((e) => e.getAttribute('data-outcome'));
    expect(new Set(outcomes)).toEqual(new Set(OUTCOMES));
    expect(screen.getByLabelText('legend').textContent).toContain('Dry run');
    expect(screen.getByLabelText('legend').textContent).toContain('Outcome unknown');
    expect(screen.getByLabelText('legend').textContent).toContain('Deferred');
  });

  it('shows the tooltip of an action on hover and hides it on leave', () => {
    render(<HealthTimelinePanel {...props()} />);
    const marker = screen.getByRole('button', { name: 'scale_up dry run for search' });
    fireEvent.mouseMove(marker, { clientX: 100, clientY: 100 });
    const tooltip = screen.getByTestId('selfheal-tooltip');
    expect(tooltip.textContent).toContain('scale_up · Dry run');
    expect(tooltip.textContent).toContain('cpu_usage');
    fireEvent.mouseLeave(marker);
    expect(screen.queryByTestId('selfheal-tooltip')).toBeNull();
  });

  it('says in the tooltip that an unknown outcome was never seen, and what a deferral is', () => {
    render(<HealthTimelinePanel {...props()} />);
    const unknown = screen.getByRole('button', { name: 'restart outcome unknown for cart' });
    fireEvent.mouseMove(unknown, { clientX: 100, clientY: 100 });
    const text = screen.getByTestId('selfheal-tooltip').textContent!;
    expect(text).toContain('restart · Outcome unknown');
    expect(text).toContain('Nobody saw the result');
    fireEvent.mouseLeave(unknown);
    fireEvent.mouseMove(screen.getByRole('button', { name: 'restart deferred for cart' }), { clientX: 100, clientY: 100 });
    expect(screen.getByTestId('selfheal-tooltip').textContent).toContain('decided again when it lifts');
  });

  it('draws approvals (approve mode) with their own markers and says in the tooltip what each means', () => {
    render(<HealthTimelinePanel {...props()} />);
    const tip = (name: string): string => {
      const marker = screen.getByRole('button', { name });
      fireEvent.mouseMove(marker, { clientX: 100, clientY: 100 });
      const text = screen.getByTestId('selfheal-tooltip').textContent!;
      fireEvent.mouseLeave(marker);
      return text;
    };
    expect(tip('restart awaiting approval for inventory')).toContain('waits for a person to approve or reject it');
    expect(tip('restart approved for inventory')).toContain('A person approved it (who and why: the healing service');
    expect(tip('scale_up rejected for inventory')).toContain('A person rejected it');
    expect(tip('enable_cache approval expired for inventory')).toContain('Nobody approved or rejected it in time');
    const legend = screen.getByLabelText('legend').textContent!;
    for (const text of ['Awaiting approval', 'Approved', 'Rejected', 'Approval expired']) expect(legend).toContain(text);
  });

  it('draws reverts of fixes and demotions to approve mode apart from the actions, with what each means in the tooltip', () => {
    render(<HealthTimelinePanel {...props()} />);
    const tip = (el: Element): string => {
      fireEvent.mouseMove(el, { clientX: 100, clientY: 100 });
      const text = screen.getByTestId('selfheal-tooltip').textContent!;
      fireEvent.mouseLeave(el);
      return text;
    };
    const reverts = screen.getAllByTestId('selfheal-revert');
    expect(reverts.map((r) => `${r.closest('[data-service]')!.getAttribute('data-service')}:${r.getAttribute('data-outcome')}`).sort()).toEqual([
      'cart:reapplied',
      'checkout:reverted',
    ]);
    const reverted = tip(screen.getByRole('button', { name: 'reverted scale_up for checkout' }));
    expect(reverted).toContain('reverted scale_up');
    expect(reverted).toContain('Reverted fixscale_up');
    expect(reverted).toContain('the anomaly did not come back');
    const putBack = tip(screen.getByRole('button', { name: 'scale_up: fix put back (re-triggered) for cart' }));
    expect(putBack).toContain('scale_up · fix put back (re-triggered)');
    expect(putBack).toContain('the anomaly came back within the verification window, so the fix was put back');
    // A revert is not an action: the actions' markers keep exactly the actions' outcomes.
    expect(screen.getAllByTestId('selfheal-event').map((e) => e.getAttribute('data-outcome')).filter((o) => o === 'reverted' || o === 'reapplied')).toEqual([]);

    const demotions = screen.getAllByTestId('selfheal-demotion');
    expect(demotions.map((d) => d.getAttribute('aria-label')).sort()).toEqual(['demoted to approve: enable_cache on checkout', 'demoted to approve: restart on cart']);
    const open = tip(screen.getByRole('img', { name: 'demoted to approve: restart on cart' }));
    expect(open).toContain('Untilstill demoted');
    expect(open).toContain('fell below the efficacy floor');
    expect(tip(screen.getByRole('img', { name: 'demoted to approve: enable_cache on checkout' }))).toMatch(/Untillifted by 2026-11-23 \d\d:\d\d:\d\d/);
    const legend = screen.getByLabelText('legend').textContent!;
    for (const text of ['Reverted', 'Fix put back (re-triggered)', 'Demoted to approve']) expect(legend).toContain(text);
  });

  it('shows the anomaly period on hover: feature, peak score, duration, attribution; open periods say ongoing', () => {
    render(<HealthTimelinePanel {...props()} />);
    const payments = screen.getAllByTestId('selfheal-row').find((r) => r.getAttribute('data-service') === 'payments')!;
    const spans = within(payments).getAllByTestId('selfheal-span');
    expect(spans).toHaveLength(2);
    fireEvent.mouseMove(spans[1]!, { clientX: 10, clientY: 10 });
    const text = screen.getByTestId('selfheal-tooltip').textContent!;
    expect(text).toContain('Anomaly · error_rate');
    expect(text).toContain('Toongoing');
    expect(text).toMatch(/Peak score2\.\d\d at 2026-11-23/);
    expect(text).toMatch(/Attributionerror_rate \d\.\d\d, /);
  });

  it('opens the event link with the incident time range on click and on Enter', () => {
    const push = vi.spyOn(locationService, 'push').mockImplementation(() => undefined);
    render(<HealthTimelinePanel {...props({ eventLink: '/d/x?from=${__from}&to=${__to}&var-service=${service}&a=${action}' })} />);
    const marker = screen.getByRole('button', { name: 'scale_up dry run for search' });
    fireEvent.click(marker);
    fireEvent.keyDown(marker, { key: 'Enter' });
    expect(push).toHaveBeenCalledTimes(2);
    expect(push.mock.calls[0]![0]).toMatch(/^\/d\/x\?from=\d+&to=\d+&var-service=search&a=scale_up$/);
    push.mockRestore();
  });

  it('does nothing on click without a link', () => {
    const push = vi.spyOn(locationService, 'push').mockImplementation(() => undefined);
    render(<HealthTimelinePanel {...props()} />);
    fireEvent.click(screen.getAllByTestId('selfheal-event')[0]!);
    expect(push).not.toHaveBeenCalled();
    push.mockRestore();
  });

  it('paginates when a page size is set', () => {
    const frames = buildFrames(manyServicesScenario(12, W), W);
    render(<HealthTimelinePanel {...props({ pageSize: 5, sortBy: 'name' }, frames)} />);
    expect(screen.getAllByTestId('selfheal-row').map((r) => r.getAttribute('data-service'))).toEqual(['svc-00', 'svc-01', 'svc-02', 'svc-03', 'svc-04']);
    fireEvent.click(screen.getByRole('button', { name: '3' }));
    expect(screen.getAllByTestId('selfheal-row').map((r) => r.getAttribute('data-service'))).toEqual(['svc-10', 'svc-11']);
  });

  it('explains the expected queries instead of drawing nothing', () => {
    render(<HealthTimelinePanel {...props({}, [])} />);
    expect(screen.queryAllByTestId('selfheal-row')).toHaveLength(0);
    expect(document.body.textContent).toContain('Expected Prometheus time series with a "service" label');
  });

  it('keeps state per instance: hovering one panel leaves another alone', () => {
    render(
      <>
        <div data-testid="one">
          <HealthTimelinePanel {...props()} />
        </div>
        <div data-testid="two">
          <HealthTimelinePanel {...props()} />
        </div>
      </>
    );
    const first = within(screen.getByTestId('one')).getByRole('button', { name: 'scale_up dry run for search' });
    fireEvent.mouseMove(first, { clientX: 50, clientY: 50 });
    expect(screen.getAllByTestId('selfheal-tooltip')).toHaveLength(1);
  });
});

describe('shared crosshair', () => {
  it("draws another panel's cursor time when the dashboard shares the crosshair, and not when it does not", async () => {
    const { DashboardCursorSync, DataHoverEvent, DataHoverClearEvent } = await import('@grafana/data');
    const { PanelContextProvider } = await import('@grafana/ui');
    const { act } = await import('@testing-library/react');
    const p = props();
    const other = new EventBusSrv();
    const view = (sync: number) => (
      <PanelContextProvider value={{ eventsScope: 'global', eventBus: p.eventBus, sync: () => sync }}>
        <HealthTimelinePanel {...p} />
      </PanelContextProvider>
    );
    const { rerender } = render(view(DashboardCursorSync.Crosshair));
    const hover = new DataHoverEvent({ point: { time: FROM + 3 * 3600_000 } });
    Object.assign(hover, { origin: other });
    act(() => p.eventBus.publish(hover));
    const line = screen.getByTestId('selfheal-crosshair');
    const left = parseFloat(line.style.left);
    const labelWidth = Math.round(Math.min(280, Math.max(140, 900 * 0.25)));
    expect(left).toBeCloseTo(labelWidth + (900 - labelWidth - 8) / 2, 0);
    const clear = new DataHoverClearEvent();
    Object.assign(clear, { origin: other });
    act(() => p.eventBus.publish(clear));
    expect(screen.queryByTestId('selfheal-crosshair')).toBeNull();

    rerender(view(DashboardCursorSync.Off));
    act(() => p.eventBus.publish(hover));
    expect(screen.queryByTestId('selfheal-crosshair')).toBeNull();
  });
});
