// Content checks on single files: what kind of image a file really is (screenshots: "Accepted image types"), and
// whether an SVG is safe to show in Grafana's catalog (pkg/svgvalidate, used by the unsafesvg analyzer: a deny-list
// of elements, and no event-handler attributes).

export type ImageKind = 'image/png' | 'image/jpeg' | 'image/gif' | 'image/svg+xml';
/** The screenshots analyzer's accepted types. */
export const ACCEPTED_IMAGES: readonly ImageKind[] = ['image/jpeg', 'image/png', 'image/gif', 'image/svg+xml'];

const startsWith = (bytes: Uint8Array, prefix: number[]) => prefix.every((b, i) => bytes[i] === b);

/** The type the bytes say they are (by their signature, not the file name), or undefined. */
export function sniffImage(bytes: Uint8Array): ImageKind | undefined {
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) {
    return 'image/png';
  }
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) {
    return 'image/jpeg';
  }
  const head = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(0, 4096));
  if (head.startsWith('GIF87a') || head.startsWith('GIF89a')) {
    return 'image/gif';
  }
  // An SVG is text whose first element is <svg>, after an optional XML declaration, comments and doctype.
  const rest = head
    .replace(/^\uFEFF/, '')
    .replace(/^\s*<\?xml[\s\S]*?\?>/, '')
    .replace(/^(\s*(<!--[\s\S]*?-->|<!DOCTYPE[^>]*>))*/i, '')
    .trimStart();
  return /^<svg[\s>]/.test(rest) ? 'image/svg+xml' : undefined;
}

// pkg/svgvalidate's forbidden elements.
const FORBIDDEN_ELEMENTS = new Set([
  'annotation-xml', 'audio', 'colgroup', 'iframe', 'math', 'mi', 'mn', 'mo', 'ms', 'mtext', 'noembed', 'noframes',
  'noscript', 'plaintext', 'script', 'template', 'thead', 'xmp',
]);
// Our addition to it: elements that embed other documents or foreign HTML.
const FORBIDDEN_EXTRA = new Set(['foreignobject', 'embed', 'object']);

const TAG = /<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[^\s=>/]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'>]+))?)*)\s*\/?>/g;
const ATTR = /([^\s=>/]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s"'>]+))?/g;

/** Why an SVG is unsafe (one line per problem), or [] when it is safe. */
export function unsafeSvgProblems(svg: string): string[] {
  const problems: string[] = [];
  // Comments and CDATA are not markup; the Go decoder skips them too.
  const text = svg.replace(/<!--[\s\S]*?-->/g, '').replace(/<!\[CDATA\[[\s\S]*?\]\]>/g, '');
  for (const m of text.matchAll(TAG)) {
    const [, , qualified = '', attrs = ''] = m;
    const local = (qualified.split(':').pop() ?? '').toLowerCase();
    if (FORBIDDEN_ELEMENTS.has(local) || FORBIDDEN_EXTRA.has(local)) {
      problems.push(`Invalid element ${local}`);
    }
    for (const a of attrs.matchAll(ATTR)) {
      const name = (a[1] ?? '').toLowerCase();
      const value = (a[2] ?? '').replace(/^["']|["']$/g, '').trim().toLowerCase();
      if (name.startsWith('on')) {
        problems.push(`Invalid attribute ${a[1]} on <${local}>`);
      } else if ((name === 'href' || name.endsWith(':href')) && /^(javascript|vbscript|data:text\/html)/.test(value.replace(/\s/g, ''))) {
        problems.push(`Invalid ${a[1]} on <${local}>: ${value.slice(0, 40)}`);
      }
    }
  }
  return [...new Set(problems)];
}
