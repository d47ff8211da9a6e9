// test/soak imports this path: scratch databases are @runner-planner/database/testing's (pg stays there).
export { createScratchDatabase } from '@runner-planner/database/testing';
