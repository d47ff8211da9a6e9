import { packageTestConfig } from '../../vitest.shared.js';

export default packageTestConfig('pressure', { database: true });
