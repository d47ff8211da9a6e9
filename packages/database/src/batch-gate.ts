import DataLoader from 'dataloader';

/**
 * A DataLoader whose batches wait for a free slot: at most `maxInFlight` batches run at once, and
 * calls made while all slots are busy gather into the next batch. At low load each call goes
 * out on the next tick, alone; under load batches grow with the backlog (group commit), so the
 * database pays one round trip and one commit for many calls instead of one each.
 */
export function gatedLoader<K, V>(
  load: (keys: readonly K[]) => Promise<readonly (V | Error)[]>,
  options: { maxInFlight: number; maxBatchSize: number },
): DataLoader<K, V> {
  let inFlight = 0;
  const waiting: (() => void)[] = [];
  const release = () => {
    inFlight--;
    const next = waiting.shift();
    if (next !== undefined) next();
  };
  return new DataLoader<K, V>(
    async (keys) => {
      try {
        return await load(keys);
      } finally {
        release();
      }
    },
    {
      cache: false,
      maxBatchSize: options.maxBatchSize,
      // DataLoader calls this when a batch is created and dispatches it when `dispatch` runs.
      batchScheduleFn: (dispatch) => {
        const start = () => {
          inFlight++;
          // Calls made in this tick still join the batch, as with DataLoader's own schedule.
          process.nextTick(dispatch);
        };
        if (inFlight < options.maxInFlight) start();
        else waiting.push(start);
      },
    },
  );
}
