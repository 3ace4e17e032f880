// Plain JavaScript that Node 18 and 20 can parse: it runs before anything in TypeScript is loaded.

/**
 * Why this Node cannot run Gatehouse, in one line, or undefined when it can. Gatehouse runs its
 * `.ts` sources with Node's type stripping: on by default from Node 22.18 (and 23.6), `strip` in
 * `process.features.typescript`; off with `--no-experimental-strip-types`.
 *
 * @param {{ version: string, typeStripping: unknown, command?: string }} node
 * @returns {string | undefined}
 */
export function nodeVersionProblem({ version, typeStripping, command }) {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  const install = 'install Node 24 LTS (nvm install 24, or the installer from https://nodejs.org)';
  if (major < 22 || (major === 22 && minor < 18)) {
    // `npx node@24` fetches Node 24 from the npm registry for one run, nothing installed for good.
    const run = `npx -y node@24 bin/gatehouse.js ${command === undefined || command === 'serve' ? 'serve' : '<command>'}`;
    return `needs Node.js 22.18 or newer, this is Node.js ${version}: ${install}, or run it once with \`${run}\``;
  }
  if (!typeStripping) {
    return `Node.js ${version} is not stripping TypeScript types, which Gatehouse needs for its .ts sources: drop --no-experimental-strip-types (NODE_OPTIONS?), or ${install}`;
  }
  return undefined;
}
