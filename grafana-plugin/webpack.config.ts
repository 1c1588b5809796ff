// The scaffold's webpack config (.config/, managed by create-plugin), extended as its README describes, for the
// workspace package the panel bundles (@selfheal/contracts: the metric names and outcomes it shares with the
// services). It is resolved by its node_modules path rather than its real one (a workspace symlink), so it is
// bundled like any dependency (not run through SWC, its own source maps not merged). In the source map, a package
// from the repository root's node_modules (where npm hoists it) is named ../node_modules/<package path>, as in a
// plugin outside this monorepo: the plugin validator's jsMap check compares only the plugin's own src/ and skips
// those. (Webpack names such a module relative to src/, and an ES module's name also carries its type,
// "javascript/esm|../../node_modules/...", which it then normalises to "javascript/node_modules/...".)
import type { Configuration } from 'webpack';

import grafanaConfig, { type Env } from './.config/webpack/webpack.config';

const HOISTED = 'node_modules/';

function sourceName(info: { namespace: string; resourcePath: string }): string {
  const at = info.resourcePath.lastIndexOf(HOISTED);
  const name = at >= 0 && !info.resourcePath.startsWith('./') ? `../${HOISTED}${info.resourcePath.slice(at + HOISTED.length)}` : info.resourcePath;
  return `webpack://${info.namespace}/${name}`;
}

const config = async (env: Env): Promise<Configuration> => {
  const base = await grafanaConfig(env);
  return {
    ...base,
    resolve: { ...base.resolve, symlinks: false },
    output: { ...base.output, devtoolModuleFilenameTemplate: sourceName },
  };
};

export default config;
