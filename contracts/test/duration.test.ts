import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration, roughDuration } from '../src/config/duration.js';

describe('parseDuration (Prometheus grammar)', () => {
  it.each([
    ['15s', 15], ['1h30m', 5400], ['500ms', 0.5], ['7d', 604_800], ['2w', 1_209_600], ['1y', 31_536_000],
    ['1d10h17m36s789ms', 123_456.789], ['0', 0], ['0s', 0], ['90s', 90], ['36h', 129_600],
  ])('reads %s as %d s', (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  it.each([
    ['', 'empty'], ['15', 'no unit'], ['1.5h', 'a fraction'], ['30s1m', 'units out of order'], ['1m1m', 'a unit twice'],
    [' 5m', 'surrounding space'], ['5 m', 'inner space'], ['-5m', 'negative'], ['5M', 'upper case'], ['5x', 'unknown unit'],
    ['h', 'no number'], ['99999999999999999y', 'too large to be exact'],
  ])('refuses %j (%s)', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe('formatDuration', () => {
  it('prints as Prometheus does and round-trips', () => {
    expect(formatDuration(5400)).toBe('1h30m');
    expect(formatDuration(0.25)).toBe('250ms');
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(604_800 + 86_400)).toBe('1w1d');
    for (const seconds of [1, 59.5, 3600, 123_456.789, 31_536_000 + 61]) expect(parseDuration(formatDuration(seconds))).toBe(seconds);
  });
});

describe('roughDuration', () => {
  it('rounds to one unit for the audit log', () => {
    expect(roughDuration(0.2)).toBe('200ms');
    expect(roughDuration(90)).toBe('90s');
    expect(roughDuration(600)).toBe('10m');
    expect(roughDuration(86_400)).toBe('24.0h');
  });
});
