import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { chromium } from 'playwright-core';
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { APPS, mb, type Sample } from './samples.js';

/** Debian's chromium: the browser the repo's dashboard test drives too (nothing downloaded). */
export const CHROMIUM = '/usr/bin/chromium';

const WIDTH = 860;
const PANEL_HEIGHT = 190;

function chartSpec(samples: readonly Sample[], title: string, loadSeconds: number): TopLevelSpec {
  const minutes = (sample: Sample) => Number((sample.seconds / 60).toFixed(3));
  const memory = samples.flatMap((sample) =>
    APPS.flatMap((app) => [
      { minutes: minutes(sample), process: app, kind: 'RSS', mb: mb(sample.memory[app].rssBytes) },
      { minutes: minutes(sample), process: app, kind: 'heap used', mb: mb(sample.memory[app].heapUsedBytes) },
    ]),
  );
  const latency = samples.flatMap((sample) => [
    { minutes: minutes(sample), quantile: 'p50', ms: sample.latencyP50Ms },
    { minutes: minutes(sample), quantile: 'p99', ms: sample.latencyP99Ms },
  ]);
  const backlog = samples.map((sample) => ({ minutes: minutes(sample), waiting: sample.waiting }));
  const time = {
    field: 'minutes',
    type: 'quantitative',
    title: 'minutes since the load started',
    scale: { domainMin: 0 },
  } as const;
  const maxWaiting = backlog.reduce((max, point) => Math.max(max, point.waiting), 0);
  // A dashed line where sending stopped: what follows is the backlog draining.
  const loadEnd = {
    data: { values: [{ minutes: loadSeconds / 60 }] },
    mark: { type: 'rule', strokeDash: [4, 4], color: 'gray' },
    encoding: { x: { field: 'minutes', type: 'quantitative' } },
  } as const;
  const panel = (layer: object) => ({ width: WIDTH, height: PANEL_HEIGHT, layer: [layer, loadEnd] });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, anchor: 'start' },
    background: 'white',
    padding: 12,
    resolve: { scale: { color: 'independent' } },
    vconcat: [
      panel({
        data: { values: memory },
        mark: { type: 'line', point: false },
        encoding: {
          x: time,
          y: { field: 'mb', type: 'quantitative', title: 'memory (MiB)' },
          color: { field: 'process', type: 'nominal', title: 'process' },
          strokeDash: { field: 'kind', type: 'nominal', title: 'memory', sort: ['RSS', 'heap used'] },
        },
      }),
      panel({
        data: { values: latency.filter((point) => Number.isFinite(point.ms) && point.ms > 0) },
        mark: { type: 'line', point: true },
        encoding: {
          x: time,
          // Log: a healthy tens of milliseconds and a backlog's minutes both stay readable.
          y: {
            field: 'ms',
            type: 'quantitative',
            title: '202 → row visible (ms, log)',
            scale: { type: 'log' },
          },
          color: { field: 'quantile', type: 'nominal', title: 'latency' },
        },
      }),
      panel({
        data: { values: backlog },
        mark: { type: 'area', opacity: 0.5, line: true },
        encoding: {
          x: time,
          y: {
            field: 'waiting',
            type: 'quantitative',
            title: 'queue backlog (waiting)',
            // A backlog that stayed empty still gets a readable axis from 0.
            scale: { domain: [0, Math.max(maxWaiting, 10)] },
            axis: { format: ',d', tickMinStep: 1 },
          },
        },
      }),
    ],
  } as TopLevelSpec;
}

/** The chart as SVG, rendered by vega in this process. */
export async function chartSvg(
  samples: readonly Sample[],
  title: string,
  loadSeconds: number,
): Promise<string> {
  const view = new View(parse(compile(chartSpec(samples, title, loadSeconds)).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Rasterises the SVG with headless chromium into `path` (its folder is created). */
export async function writePng(svg: string, path: string): Promise<void> {
  if (!existsSync(CHROMIUM)) throw new Error(`no ${CHROMIUM} to render the chart (apt-get install chromium)`);
  await mkdir(dirname(path), { recursive: true });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-sync',
    ],
  });
  try {
    const page = await browser.newPage({ deviceScaleFactor: 2 });
    await page.setContent(`<!doctype html><html><body style="margin:0">${svg}</body></html>`);
    await page.locator('svg').first().screenshot({ path, type: 'png' });
  } finally {
    await browser.close();
  }
}

export async function writeChart(
  samples: readonly Sample[],
  title: string,
  loadSeconds: number,
  paths: { png: string; svg: string },
): Promise<void> {
  const svg = await chartSvg(samples, title, loadSeconds);
  await mkdir(dirname(paths.svg), { recursive: true });
  await writeFile(paths.svg, svg);
  await writePng(svg, paths.png);
}
