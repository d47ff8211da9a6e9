import { packageTestConfig } from '../../vitest.shared.js';

export default packageTestConfig('cli', { database: true, testTimeout: 120_000 });
