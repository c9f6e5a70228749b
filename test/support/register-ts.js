'use strict';
/**
 * Lets plain `node` require TypeScript files (the Ollama emulator, benchmark helpers) by compiling
 * them on the fly with SWC. Type errors are not checked here; `tsc` does that.
 */
const fs = require('node:fs');
const { transformSync } = require('@swc/core');

const MARK = Symbol.for('local-llm-gateway.register-ts');

if (!require.extensions[MARK]) {
  require.extensions[MARK] = true;
  require.extensions['.ts'] = function compileTypeScript(module, filename) {
    const source = fs.readFileSync(filename, 'utf8');
    const { code } = transformSync(source, {
      filename,
      sourceMaps: 'inline',
      jsc: {
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true },
        target: 'es2022',
      },
      module: { type: 'commonjs' },
    });
    module._compile(code, filename);
  };
}
