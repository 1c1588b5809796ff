// An outcome's marker: shape and colour both say the outcome, so it reads without colour vision too.
import React from 'react';

export interface MarkerProps {
  outcome: string;
  x: number;
  y: number;
  size: number;
  color: string;
  background: string;
}

export function MarkerShape({ outcome, x, y, size, color, background }: MarkerProps) {
  const r = size / 2;
  switch (outcome) {
    case 'succeeded':
      return <circle cx={x} cy={y} r={r} fill={color} stroke={background} strokeWidth={1.5} />;
    case 'failed':
      return (
        <path
          d={`M${x},${y - r * 1.15} L${x + r * 1.1},${y + r * 0.85} L${x - r * 1.1},${y + r * 0.85} Z`}
          fill={color}
          stroke={background}
          strokeWidth={1.5}
          strokeLinejoin="round"
        />
      );
    case 'dry_run':
      return <circle cx={x} cy={y} r={r - 1} fill={background} stroke={color} strokeWidth={2} strokeDasharray="2.5 1.5" />;
    case 'skipped':
      return <rect x={x - r * 0.8} y={y - r * 0.8} width={r * 1.6} height={r * 1.6} fill={background} stroke={color} strokeWidth={2} />;
    case 'unknown':
      // Neither the filled circle of a success nor the triangle of a failure: a hollow diamond with a question mark.
      return (
        <g>
          <path d={`M${x},${y - r * 1.2} L${x + r * 1.2},${y} L${x},${y + r * 1.2} L${x - r * 1.2},${y} Z`} fill={background} stroke={color} strokeWidth={2} strokeLinejoin="round" />
          <text x={x} y={y} dy="0.36em" textAnchor="middle" fontSize={r * 1.45} fontWeight={700} fill={color} style={{ pointerEvents: 'none' }}>
            ?
          </text>
        </g>
      );
    case 'deferred':
      // An hourglass: waiting for a guardrail to lift.
      return (
        <path
          d={`M${x - r * 0.85},${y - r} L${x + r * 0.85},${y - r} L${x - r * 0.85},${y + r} L${x + r * 0.85},${y + r} Z`}
          fill={color}
          stroke={background}
          strokeWidth={1}
          strokeLinejoin="round"
        />
      );
    case 'pending_approval':
      // A hollow ring around a dot: waiting on a person.
      return (
        <g>
          <circle cx={x} cy={y} r={r - 1} fill={background} stroke={color} strokeWidth={2} />
          <circle cx={x} cy={y} r={r * 0.35} fill={color} />
        </g>
      );
    case 'approved':
      // A check mark: a person said yes (the action's own outcome is its next marker).
      return (
        <g>
          <circle cx={x} cy={y} r={r} fill={background} stroke={background} strokeWidth={1} />
          <path d={`M${x - r * 0.8},${y} L${x - r * 0.2},${y + r * 0.65} L${x + r * 0.85},${y - r * 0.7}`} fill="none" stroke={color} strokeWidth={2.5} strokeLinecap="round" strokeLinejoin="round" />
        </g>
      );
    case 'rejected':
      // A cross: a person said no; it did not run.
      return (
        <g>
          <circle cx={x} cy={y} r={r} fill={background} stroke={background} strokeWidth={1} />
          <path d={`M${x - r * 0.7},${y - r * 0.7} L${x + r * 0.7},${y + r * 0.7} M${x + r * 0.7},${y - r * 0.7} L${x - r * 0.7},${y + r * 0.7}`} stroke={color} strokeWidth={2.5} strokeLinecap="round" />
        </g>
      );
    case 'expired':
      // A hollow hourglass: nobody decided in time.
      return (
        <path
          d={`M${x - r * 0.85},${y - r} L${x + r * 0.85},${y - r} L${x - r * 0.85},${y + r} L${x + r * 0.85},${y + r} Z`}
          fill={background}
          stroke={color}
          strokeWidth={1.8}
          strokeLinejoin="round"
        />
      );
    default:
      return (
        <path d={`M${x},${y - r} L${x + r},${y} L${x},${y + r} L${x - r},${y} Z`} fill={color} stroke={background} strokeWidth={1.5} />
      );
  }
}

/**
 * The revert of a fix: a U-turn arrow (↶, undone) on a backdrop; a fix put back after the anomaly came back is the
 * arrow turning forward again (↷). The colour says how the revert ended.
 */
export function RevertShape({ outcome, x, y, size, color, background }: MarkerProps) {
  const r = size / 2;
  // Forward (put back) mirrors the arrow around x.
  const d = outcome === 'reapplied' ? -1 : 1;
  const arc = `M${x + d * r * 0.8},${y + r * 0.7} L${x + d * r * 0.8},${y - r * 0.05} A${r * 0.7},${r * 0.7} 0 0 ${d > 0 ? 0 : 1} ${x - d * r * 0.6},${y - r * 0.05}`;
  const head = `M${x - d * r * 1.05},${y - r * 0.1} L${x - d * r * 0.15},${y - r * 0.1} L${x - d * r * 0.6},${y + r * 0.75} Z`;
  return (
    <g>
      <circle cx={x} cy={y} r={r + 1} fill={background} stroke={color} strokeWidth={1} strokeOpacity={0.5} />
      <path d={arc} fill="none" stroke={color} strokeWidth={2} strokeLinecap="round" />
      <path d={head} fill={color} stroke={color} strokeWidth={0.5} strokeLinejoin="round" />
    </g>
  );
}
