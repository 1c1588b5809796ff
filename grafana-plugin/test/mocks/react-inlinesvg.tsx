// @grafana/ui's Icon fetches SVG files over HTTP through react-inlinesvg; in jsdom there is no server.
import React from 'react';

export default function InlineSVG({ src }: { src: string }) {
  const name = src.replace(/(.+)\/(.+)\.svg$/, '$2');
  return <svg xmlns="http://www.w3.org/2000/svg" data-testid={name} viewBox="0 0 24 24" />;
}
