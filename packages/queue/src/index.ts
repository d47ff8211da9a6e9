export {
  closeQueuesAndConnection,
  producerConnection,
  type RedisClient,
  redisConnection,
  type WorkerLink,
  whenConnected,
  workerConnection,
  workerLink,
} from './connection.js';
export { type Envelope, envelopeSchema, queueJobId } from './envelope.js';
export {
  BACKOFF_TYPE,
  DEAD_LETTER_RETENTION,
  DEFAULT_QUEUE_PREFIX,
  type DeadLetterRetention,
  MAX_ATTEMPTS,
  removeOnFail,
  retryDelayMs,
  WEBHOOK_QUEUE,
  webhookJobOptions,
} from './policy.js';
export {
  createWebhookProducer,
  type EnqueueResult,
  NotReplicatedError,
  type ProducerOptions,
  QueueUnavailableError,
  type WebhookProducer,
} from './producer.js';
export {
  type Attempt,
  createWebhookWorker,
  DeadLetterError,
  RefusedError,
  type WebhookProcessor,
  type WebhookWorkerOptions,
} from './worker.js';
