import { describe, expect, it } from 'vitest';
import { escapePromqlString, labelMatchers, promqlString, quoteRegexLiteral } from '../src/promql/escape.js';

describe('PromQL escaping of label values', () => {
  it('quotes a value so that it cannot end the string', () => {
    expect(promqlString('checkout')).toBe('"checkout"');
    expect(promqlString('a"b\\c\nd')).toBe('"a\\"b\\\\c\\nd"');
    expect(escapePromqlString('x"}) or vector(1) #')).toBe('x\\"}) or vector(1) #');
  });

  it('quotes regular expression metacharacters as Go regexp.QuoteMeta does', () => {
    expect(quoteRegexLiteral('a.b+c*d?(e)|[f]{g}^h$\\')).toBe('a\\.b\\+c\\*d\\?\\(e\\)\\|\\[f\\]\\{g\\}\\^h\\$\\\\');
    expect(quoteRegexLiteral('plain-name_1')).toBe('plain-name_1');
  });

  it('writes label matchers sorted by name', () => {
    expect(labelMatchers({ service: 'check"out', group: 'shop' })).toBe('group="shop",service="check\\"out"');
    expect(labelMatchers({})).toBe('');
  });
});
