/**
 * SVG charts of a side-by-side run, drawn by Vega-Lite specifications rendered headless by Vega
 * (no browser, no canvas): ours/C per figure, latency against concurrent clients, against guests.
 */
import { View, parse } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { ratio, type Figure, type Point } from './stats.js';

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const daemonColor = {
  field: 'daemon',
  type: 'nominal',
  title: 'daemon',
  scale: { domain: ['C', 'ours'], range: ['#8c8c8c', '#2b6cb0'] },
} as const;

/** One bar per figure: ours / C, with the line at 1 (left of it ours is better). */
export function ratioChart(figures: readonly Figure[], subtitle: string): TopLevelSpec {
  const values = figures.flatMap((f) => {
    const r = ratio(f);
    return r === null
      ? []
      : [
          {
            figure: f.title.replace(/`/g, '').replace(/\s*\([^)]*\)$/, ''),
            ratio: Number(r.toFixed(3)),
            better: r <= 1 ? 'ours ≤ C' : 'ours > C',
          },
        ];
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'fence_virtd: ours / C per figure (lower is better; 1 = same as C)', subtitle },
    width: 420,
    layer: [
      {
        data: { values },
        mark: 'bar',
        encoding: {
          y: { field: 'figure', type: 'nominal', sort: null, title: null, axis: { labelLimit: 520 } },
          x: { field: 'ratio', type: 'quantitative', scale: { type: 'log' }, title: 'ours / C (log scale)' },
          color: {
            field: 'better',
            type: 'nominal',
            scale: { domain: ['ours ≤ C', 'ours > C'], range: ['#2f855a', '#c05621'] },
            title: null,
          },
        },
      },
      {
        data: { values: [{ one: 1 }] },
        mark: { type: 'rule', strokeDash: [4, 3] },
        encoding: { x: { field: 'one', type: 'quantitative' } },
      },
    ],
  };
}

/** A curve per daemon; points without a value (a daemon that could not serve) are left out and labelled. */
export function curveChart(
  points: readonly Point[],
  o: { title: string; subtitle: string; x: string; y: string; logX?: boolean },
): TopLevelSpec {
  const values = points.filter((p) => p.y !== null).map((p) => ({ ...p, label: p.label ?? '' }));
  const encoding = {
    x: { field: 'x', type: 'quantitative', title: o.x, scale: o.logX ? { type: 'log' as const } : {} },
    y: { field: 'y', type: 'quantitative', title: o.y },
    color: daemonColor,
  } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: o.title, subtitle: o.subtitle },
    width: 460,
    height: 260,
    data: { values },
    layer: [
      { mark: { type: 'line', point: true }, encoding },
      { mark: { type: 'text', dy: -9, fontSize: 9 }, encoding: { ...encoding, text: { field: 'label' } } },
    ],
  };
}
