export {
  type HttpServerMetric,
  type HttpServerObservation,
  httpMethod,
  httpRoute,
  httpServerMetric,
  observationOf,
} from './http-server.js';
