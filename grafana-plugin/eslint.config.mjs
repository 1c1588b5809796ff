// The repository's lint rules plus React's hooks rules and browser globals for the panel's source.
// (The scaffold's .config/eslint.config.mjs uses @grafana/eslint-config; the repository's rules replace it.)
import globals from 'globals';
import reactHooks from 'eslint-plugin-react-hooks';

import rootConfig from '../eslint.config.js';

export default [
  { ignores: ['.config/**', 'dist/**', 'node_modules/**', '.tmp/**'] },
  ...rootConfig,
  {
    files: ['src/**/*.{ts,tsx}', 'test/**/*.{ts,tsx}'],
    plugins: { 'react-hooks': reactHooks },
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'error',
    },
  },
];
