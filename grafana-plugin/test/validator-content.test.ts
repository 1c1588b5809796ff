// @vitest-environment node
// The content checks of the offline plugin validator on their own: what an image really is (by its bytes), and
// which SVGs the unsafesvg analyzer's rules refuse, including the ways markup can hide (namespaces, case, comments).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { sniffImage, unsafeSvgProblems } from '../scripts/validator/content';
import { PLUGIN_DIR } from './paths';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('sniffImage: the type the bytes say, not the file name', () => {
  it('knows the shipped logo and screenshots', () => {
    expect(sniffImage(readFileSync(join(PLUGIN_DIR, 'src/img/logo.svg')))).toBe('image/svg+xml');
    expect(sniffImage(readFileSync(join(PLUGIN_DIR, 'src/img/screenshot-dark.png')))).toBe('image/png');
  });

  it('finds an SVG behind an XML declaration, comments and a doctype, and GIF and JPEG by their signatures', () => {
    const svg = '\uFEFF<?xml version="1.0"?>\n<!-- logo -->\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x">\n<svg xmlns="http://www.w3.org/2000/svg"/>';
    expect(sniffImage(bytes(svg))).toBe('image/svg+xml');
    expect(sniffImage(bytes('GIF89a....'))).toBe('image/gif');
    expect(sniffImage(new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]))).toBe('image/jpeg');
  });

  it('refuses text, HTML, WebP and an empty file', () => {
    expect(sniffImage(bytes('just text, named .png'))).toBeUndefined();
    expect(sniffImage(bytes('<html><body><svg></svg></body></html>'))).toBeUndefined();
    expect(sniffImage(bytes('RIFF\u0000\u0000\u0000\u0000WEBPVP8 '))).toBeUndefined();
    expect(sniffImage(new Uint8Array(0))).toBeUndefined();
  });
});

describe('unsafeSvgProblems: pkg/svgvalidate\'s rules', () => {
  it('passes the shipped logo', () => {
    expect(unsafeSvgProblems(readFileSync(join(PLUGIN_DIR, 'src/img/logo.svg'), 'utf8'))).toEqual([]);
  });

  it('refuses forbidden elements however they are written', () => {
    expect(unsafeSvgProblems('<svg><SCRIPT>x</SCRIPT></svg>')).toContain('Invalid element script');
    expect(unsafeSvgProblems('<svg xmlns:s="http://www.w3.org/2000/svg"><s:script/></svg>')).toContain('Invalid element script');
    expect(unsafeSvgProblems('<svg><foreignObject><iframe src="x"/></foreignObject></svg>')).toEqual(
      expect.arrayContaining(['Invalid element foreignobject', 'Invalid element iframe'])
    );
  });

  it('refuses event handlers and script links, in any case and quoting', () => {
    expect(unsafeSvgProblems("<svg><rect OnMouseOver='x()'/></svg>")).toEqual(['Invalid attribute OnMouseOver on <rect>']);
    expect(unsafeSvgProblems('<svg><rect onclick=x()/></svg>')).toEqual(['Invalid attribute onclick on <rect>']);
    expect(unsafeSvgProblems('<svg><a xlink:href=" JavaScript:alert(1)"><rect/></a></svg>')).toHaveLength(1);
  });

  it('lets safe attributes that start with "o" and markup inside comments pass', () => {
    expect(unsafeSvgProblems('<svg><rect opacity="0.5" offset="1" orient="auto"/><!-- <script>old</script> --></svg>')).toEqual([]);
  });
});
