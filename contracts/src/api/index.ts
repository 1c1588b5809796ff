export * from './rows.js';
export * from './parse.js';
