export {
  closeQueuesAndConnection,
  producerConnection,
  whenConnected,
  workerConnection,
  workerConnectionOptions,
} from './connection.js';
export { type Envelope, envelopeSchema, queueJobId } from './envelope.js';
export {
  BACKOFF_TYPE,
  DEFAULT_QUEUE_PREFIX,
  MAX_ATTEMPTS,
  retryDelayMs,
  WEBHOOK_QUEUE,
  webhookJobOptions,
} from './policy.js';
export {
  createWebhookProducer,
  type EnqueueResult,
  type ProducerOptions,
  QueueUnavailableError,
  type WebhookProducer,
} from './producer.js';
export {
  createWebhookWorker,
  DeadLetterError,
  type WebhookProcessor,
  type WebhookWorkerOptions,
} from './worker.js';
