export * from './family.js';
export * from './families.js';
