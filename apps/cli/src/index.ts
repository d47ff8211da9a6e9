export { buildProgram } from './program.js';
export { runApp, runStart } from './start.js';
