import { describe, expect, it } from 'vitest';
import { listenAddressProblem, parseListenAddress } from '../src/config/listen.js';

describe('listen addresses', () => {
  it('reads HOST:PORT, [IPv6]:PORT and :PORT', () => {
    expect(parseListenAddress('127.0.0.1:9188')).toEqual({ host: '127.0.0.1', port: 9188 });
    expect(parseListenAddress('[::1]:9188')).toEqual({ host: '::1', port: 9188 });
    expect(parseListenAddress('localhost:80')).toEqual({ host: 'localhost', port: 80 });
    expect(parseListenAddress(':9188')).toEqual({ host: '0.0.0.0', port: 9188 });
    expect(parseListenAddress(':8081', { emptyHost: '127.0.0.1' })).toEqual({ host: '127.0.0.1', port: 8081 });
  });

  it('says what is wrong', () => {
    expect(listenAddressProblem('localhost')).toBe('must be HOST:PORT, e.g. 127.0.0.1:9189');
    expect(listenAddressProblem('localhost', { example: '127.0.0.1:9188' })).toBe('must be HOST:PORT, e.g. 127.0.0.1:9188');
    expect(listenAddressProblem('127.0.0.1:99999')).toBe('port 99999 is out of range; use 1-65535');
    expect(listenAddressProblem('127.0.0.1:0')).toBe('port 0 is out of range; use 1-65535');
    expect(listenAddressProblem('::1:9188')).toMatch(/must be HOST:PORT/);
    expect(listenAddressProblem('my host:9188')).toMatch(/must be HOST:PORT/);
    expect(() => parseListenAddress('nope')).toThrow(/listen address "nope": must be HOST:PORT/);
  });

  it('takes port 0 (a free port) only when asked to', () => {
    expect(listenAddressProblem('127.0.0.1:0', { ephemeralPort: true })).toBeUndefined();
    expect(listenAddressProblem('127.0.0.1:65536', { ephemeralPort: true })).toBe('port 65536 is out of range; use 0-65535');
  });
});
