import type { AddressInfo } from 'node:net';
import type { Config } from '@runner-planner/config';
import { createWebhookProducer } from '@runner-planner/queue';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { buildGateway, type GatewayOptions } from './app.js';
import { GITHUB_WEBHOOK_PATH } from './github.js';
import { GITLAB_WEBHOOK_PATH } from './gitlab.js';

export interface StartGatewayOptions {
  /** Interface to listen on; LISTEN_HOST, else all of them. */
  host?: string;
  registry?: Registry;
  logger?: GatewayOptions['logger'];
}

export interface RunningGateway {
  app: FastifyInstance;
  /** The address actually bound (useful with `gatewayPort: 0`). */
  url: string;
  /** Stops taking requests, lets the ones in flight finish, then closes the Redis connection. */
  close(): Promise<void>;
}

/** Starts the gateway on `config.gatewayPort` with its own queue producer. */
export async function startGateway(
  config: Config,
  options: StartGatewayOptions = {},
): Promise<RunningGateway> {
  const producer = createWebhookProducer({
    redisUrl: config.redisUrl,
    prefix: config.queuePrefix,
    replayWindowMs: config.gatewayReplayWindowMs,
    replicas: config.gatewayReplicaAcks,
    replicaTimeoutMs: config.gatewayReplicaTimeoutMs,
  });
  let app: FastifyInstance;
  try {
    app = buildGateway({ config, producer, registry: options.registry, logger: options.logger });
    await app.listen({ host: options.host ?? config.listenHost ?? '0.0.0.0', port: config.gatewayPort });
  } catch (err) {
    await producer.close();
    throw err;
  }

  const url = baseUrl(app.server.address() as AddressInfo);
  app.log.info(
    {
      github:
        config.githubWebhookSecrets.length > 0
          ? `${url}${GITHUB_WEBHOOK_PATH}`
          : 'off (set GITHUB_WEBHOOK_SECRET)',
      gitlab:
        config.gitlabToken !== undefined && config.gitlabWebhookTokens.length > 0
          ? `${url}${GITLAB_WEBHOOK_PATH}`
          : 'off (set GITLAB_TOKEN and GITLAB_WEBHOOK_TOKEN)',
    },
    `gateway ready: webhook URLs are ${url}${GITHUB_WEBHOOK_PATH} and ${url}${GITLAB_WEBHOOK_PATH}`,
  );

  let closing: Promise<void> | undefined;
  return {
    app,
    url,
    close() {
      closing ??= app.close().finally(() => producer.close());
      return closing;
    },
  };
}

function baseUrl(address: AddressInfo): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}
