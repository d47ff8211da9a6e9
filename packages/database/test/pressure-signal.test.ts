import { describe, expect, it } from 'vitest';
import { PressureSignal } from '../src/pressure-signal.js';

/** A send that stays in flight until `finish` is called, counting the calls. */
function controlledSend() {
  const finishers: ((error?: Error) => void)[] = [];
  let sent = 0;
  const send = () =>
    new Promise<void>((resolve, reject) => {
      sent += 1;
      finishers.push((error) => (error ? reject(error) : resolve()));
    });
  const finish = async (error?: Error) => {
    await expect.poll(() => finishers.length).toBeGreaterThan(0);
    finishers.shift()?.(error);
  };
  return { send, finish, sent: () => sent };
}

describe('PressureSignal', () => {
  it('sends at once, then once more for every write that committed while a signal was on its way', async () => {
    const { send, finish, sent } = controlledSend();
    const signal = new PressureSignal(send, () => {});
    signal.raise();
    expect(sent()).toBe(1);
    for (let i = 0; i < 100; i++) signal.raise();
    expect(sent()).toBe(1);
    await finish();
    await expect.poll(sent).toBe(2);
    await finish();
    await signal.settled();
    expect(sent()).toBe(2);
    // Idle again: the next write is signalled at once.
    signal.raise();
    expect(sent()).toBe(3);
    await finish();
    await signal.settled();
  });

  it('reports a signal that could not be sent and keeps signalling later writes', async () => {
    const { send, finish, sent } = controlledSend();
    const errors: unknown[] = [];
    const signal = new PressureSignal(send, (error) => errors.push(error));
    signal.raise();
    await finish(new Error('connection refused'));
    await signal.settled();
    expect(errors).toEqual([new Error('connection refused')]);
    signal.raise();
    expect(sent()).toBe(2);
    await finish();
    await signal.settled();
    expect(errors).toHaveLength(1);
  });
});
