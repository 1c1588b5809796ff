export * from './client.js';
export * from './exposition.js';
export * from './retry.js';
export * from './scrape.js';
