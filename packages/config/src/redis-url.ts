/** A Redis reached through Sentinel: where the Sentinels are, and the name of the master they watch. */
export interface SentinelTarget {
  sentinels: { host: string; port: number }[];
  /** The master's name in the Sentinels' configuration (`sentinel monitor <name> …`). */
  name: string;
  /** For the master and replicas (Redis `AUTH`). */
  username?: string;
  password?: string;
  /** For the Sentinels themselves, when they require it. */
  sentinelUsername?: string;
  sentinelPassword?: string;
  db?: number;
}

export const SENTINEL_PROTOCOL = 'redis+sentinel:';

const DEFAULT_SENTINEL_PORT = 26379;

/**
 * `redis+sentinel://[[user]:password@]host[:port][,host[:port]…]/<master name>[/<db>]`, with
 * `sentinelUsername` and `sentinelPassword` as query parameters: the form several Redis clients
 * read, since one URL cannot name several hosts otherwise. Undefined for any other URL; an error
 * names what is wrong with a malformed one.
 */
export function sentinelTarget(url: string): SentinelTarget | undefined {
  if (!url.startsWith(`${SENTINEL_PROTOCOL}//`)) return undefined;
  const match =
    /^redis\+sentinel:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?#]+)\/([^/?#]+)(?:\/(\d+))?\/?(?:\?([^#]*))?$/.exec(
      url,
    );
  if (match === null) {
    throw new Error('must look like redis+sentinel://[:password@]host:26379[,host:26379…]/<master name>');
  }
  const [, user, password, hosts = '', name = '', db, query] = match;
  const sentinels = hosts.split(',').map((entry) => {
    const parsed = /^([^:\s]+|\[[^\]]+\])(?::(\d{1,5}))?$/.exec(entry.trim());
    if (parsed === null) throw new Error(`"${entry}" is not host:port`);
    return {
      host: (parsed[1] ?? '').replace(/^\[|\]$/g, ''),
      port: Number(parsed[2] ?? DEFAULT_SENTINEL_PORT),
    };
  });
  const params = new URLSearchParams(query ?? '');
  const optional = (key: string, value: string | null | undefined) =>
    value === null || value === undefined || value === '' ? {} : { [key]: decodeURIComponent(value) };
  return {
    sentinels,
    name: decodeURIComponent(name),
    ...optional('username', user),
    ...optional('password', password),
    ...optional('sentinelUsername', params.get('sentinelUsername')),
    ...optional('sentinelPassword', params.get('sentinelPassword')),
    ...(db === undefined ? {} : { db: Number(db) }),
  };
}

/** A Redis Cluster: some of its nodes (the client learns the rest), and the credentials of all. */
export interface ClusterTarget {
  nodes: { host: string; port: number }[];
  username?: string;
  password?: string;
  /** `rediss+cluster://`: TLS to every node. */
  tls: boolean;
}

export const CLUSTER_PROTOCOLS = ['redis+cluster:', 'rediss+cluster:'] as const;

const DEFAULT_REDIS_PORT = 6379;

/**
 * `redis+cluster://[[user]:password@]host[:port][,host[:port]…]` (or `rediss+cluster://` for TLS):
 * seed nodes of a Redis Cluster. Undefined for any other URL; an error names what is wrong with a
 * malformed one. A cluster has one database, so no `/db` part.
 */
export function clusterTarget(url: string): ClusterTarget | undefined {
  const tls = url.startsWith('rediss+cluster://');
  if (!tls && !url.startsWith('redis+cluster://')) return undefined;
  const match = /^rediss?\+cluster:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?#]+)\/?$/.exec(url);
  if (match === null) throw new Error('must look like redis+cluster://[:password@]host:6379[,host:6379…]');
  const [, user, password, hosts = ''] = match;
  const nodes = hosts.split(',').map((entry) => {
    const parsed = /^([^:\s]+|\[[^\]]+\])(?::(\d{1,5}))?$/.exec(entry.trim());
    if (parsed === null) throw new Error(`"${entry}" is not host:port`);
    return { host: (parsed[1] ?? '').replace(/^\[|\]$/g, ''), port: Number(parsed[2] ?? DEFAULT_REDIS_PORT) };
  });
  return {
    nodes,
    tls,
    ...(user ? { username: decodeURIComponent(user) } : {}),
    ...(password ? { password: decodeURIComponent(password) } : {}),
  };
}
