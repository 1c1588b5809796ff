export * from './actions.js';
export * from './records.js';
