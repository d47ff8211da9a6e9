// import-original.test.ts imports this path; the helper itself is exported by ./testing.
export * from '../src/testing-original-planner.js';
