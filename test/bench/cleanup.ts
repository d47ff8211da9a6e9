// test/soak imports this path: the helper is @runner-planner/bench-kit's.
export { Cleanup } from '@runner-planner/bench-kit';
