// Renders an HTTP actuator's URL template. Values go in URL-encoded; a value substituted before the query
// (host or path) must also stay one path segment: not `.` or `..`, not empty, no `/` or `\`, even after
// percent-decoding (a server or proxy may decode twice). Otherwise `/restart/{{ labels.instance }}/now` with
// instance `..` is normalised by the URL parser into a request for `/now`.
import { render, type TemplateVars } from '../../util/template.js';

/** The value as a server may read it after decoding it up to `rounds` times; every stage is checked. */
function decodings(value: string, rounds = 3): string[] {
  const out = [value];
  let v = value;
  for (let i = 0; i < rounds; i++) {
    let d: string;
    try {
      d = decodeURIComponent(v);
    } catch {
      break; // not valid percent-encoding: a server reads it literally
    }
    if (d === v) break;
    out.push(d);
    v = d;
  }
  return out;
}

function pathSegment(value: string, ref: string): string {
  const bad = decodings(value).find((d) => d === '' || d === '.' || d === '..' || /[/\\]/.test(d));
  if (bad !== undefined) {
    throw new Error(`the value of ${ref} (${JSON.stringify(value.slice(0, 80))}) may not be used in a URL path: ${bad === '' ? 'it is empty' : bad === '.' || bad === '..' ? `it is "${bad}"${bad === value ? '' : ' once decoded'}` : `it holds a path separator${bad === value ? '' : ' once decoded'}`}`);
  }
  return encodeURIComponent(value);
}

/**
 * The URL to request: the template rendered (values encoded and, before the query, checked as path segments),
 * then parsed and normalised exactly as the HTTP client will send it, so that what is recorded is what is
 * requested.
 */
export function renderUrl(template: string, vars: TemplateVars): string {
  const cut = template.search(/[?#]/);
  const head = cut < 0 ? template : template.slice(0, cut);
  const tail = cut < 0 ? '' : template.slice(cut);
  const rendered = render(head, vars, pathSegment) + render(tail, vars, (v) => encodeURIComponent(v));
  let url: URL;
  try {
    url = new URL(rendered);
  } catch {
    throw new Error(`the rendered URL ${JSON.stringify(rendered.slice(0, 200))} is not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`the rendered URL is not http(s): ${url.protocol}`);
  return url.href;
}
