import { expect } from 'vitest';
import type { ScenarioFigures } from './scenario.js';

/** What every scenario but the documented counter-example must show. */
export function expectEveryEventKeptOnce(figures: ScenarioFigures): void {
  const { comparison } = figures;
  const why = [...comparison.examples, ...figures.diagnosis].join(' | ');
  expect(figures.send.notAccepted, 'events the sender gave up on').toBe(0);
  expect(figures.lost, `lost: ${why}`).toBe(0);
  expect(figures.duplicated, `duplicated: ${comparison.examples.join(' | ')}`).toBe(0);
  expect(comparison, comparison.examples.join(' | ')).toMatchObject({
    wrongJobs: 0,
    pressureOver: 0,
    pressureUnder: 0,
  });
  expect(figures.converged, figures.diagnosis.join('\n')).toBe(true);
  expect(figures.deadLetters, 'webhooks dead-lettered').toBe(0);
}
