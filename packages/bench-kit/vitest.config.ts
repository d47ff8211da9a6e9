import { packageTestConfig } from '../../vitest.shared.js';

export default packageTestConfig('bench-kit');
