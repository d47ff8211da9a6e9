import DataLoader from 'dataloader';

export interface GatedLoaderOptions {
  /** Batches running at once; calls made while all are busy gather into the next batch. */
  maxInFlight: number;
  maxBatchSize: number;
  /**
   * How long a batch gathers calls after its first before it is sent (0: on the next tick).
   * Fewer, larger batches cost the database fewer commits; each call waits at most this long.
   */
  windowMs?: number;
  /** A batch is sent before its window ends once it holds this many calls. */
  flushAt?: number;
}

/** A DataLoader batch waiting to be sent, and how many calls it holds so far. */
interface Gathering {
  calls: number;
  send: () => void;
}

/**
 * A DataLoader whose batches wait for a free slot: at most `maxInFlight` batches run at once.
 * At low load a call goes out alone after `windowMs`; under load batches grow with the backlog
 * (group commit), so the database pays one round trip and one commit for many calls.
 */
export function gatedLoader<K, V>(
  load: (keys: readonly K[]) => Promise<readonly (V | Error)[]>,
  options: GatedLoaderOptions,
): Pick<DataLoader<K, V>, 'load'> {
  const windowMs = options.windowMs ?? 0;
  const flushAt = Math.min(options.flushAt ?? options.maxBatchSize, options.maxBatchSize);
  let inFlight = 0;
  const waitingForSlot: (() => void)[] = [];
  let gathering: Gathering | undefined;

  const release = () => {
    inFlight--;
    waitingForSlot.shift()?.();
  };
  const loader = new DataLoader<K, V>(
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
      // DataLoader calls this as it opens a batch, and sends the batch when `dispatch` runs.
      batchScheduleFn: (dispatch) => {
        let sent = false;
        let timer: NodeJS.Timeout | undefined;
        const batch: Gathering = {
          calls: 0,
          send: () => {
            if (sent) return;
            sent = true;
            clearTimeout(timer);
            if (gathering === batch) gathering = undefined;
            const start = () => {
              inFlight++;
              // Calls made in this tick still join the batch.
              process.nextTick(dispatch);
            };
            if (inFlight < options.maxInFlight) start();
            else waitingForSlot.push(start);
          },
        };
        gathering = batch;
        if (windowMs > 0) timer = setTimeout(batch.send, windowMs);
        else batch.send();
      },
    },
  );
  return {
    load(key) {
      const result = loader.load(key);
      // `load` opened a batch or joined the one gathering: count the call in it.
      if (gathering !== undefined && ++gathering.calls >= flushAt) gathering.send();
      return result;
    },
  };
}
