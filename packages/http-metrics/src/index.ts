export {
  type HttpServerMetric,
  type HttpServerObservation,
  httpMethod,
  httpRoute,
  httpServerMetric,
} from './http-server.js';
