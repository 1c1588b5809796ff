export * from './client.js';
export * from './exposition.js';
export * from './scrape.js';
export * from './auth/index.js';
