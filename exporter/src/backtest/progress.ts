// A small progress bar on stderr for long backtests: redrawn in place on a terminal, a line every 10 % otherwise.

export interface Progress {
  update(done: number): void;
  finish(): void;
}

export function progressBar(total: number, label: string, stream: NodeJS.WriteStream = process.stderr, enabled = true): Progress {
  if (!enabled || total <= 0) return { update: () => undefined, finish: () => undefined };
  const tty = stream.isTTY === true;
  const started = Date.now();
  let lastTenth = -1;
  let lastDraw = 0;
  const draw = (done: number, force: boolean): void => {
    const frac = Math.min(1, done / total);
    const now = Date.now();
    if (tty) {
      if (!force && now - lastDraw < 100) return;
      lastDraw = now;
      const width = 30;
      const filled = Math.round(frac * width);
      const elapsed = (now - started) / 1000;
      const rate = elapsed > 0 ? Math.round(done / elapsed) : 0;
      stream.write(`\r${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ${done}/${total} rows ${rate}/s`);
    } else {
      const tenth = Math.floor(frac * 10);
      if (tenth === lastTenth && !force) return;
      lastTenth = tenth;
      stream.write(`${label}: ${(frac * 100).toFixed(0)}% (${done}/${total} rows)\n`);
    }
  };
  return {
    update: (done) => draw(done, false),
    finish: () => {
      draw(total, true);
      if (tty) stream.write('\n');
    },
  };
}
