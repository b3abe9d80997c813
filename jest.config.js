// Native ESM under jest: test files are TypeScript compiled by ts-jest to ES modules,
// run with `node --experimental-vm-modules` (see README, "Contributing").
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  // sources import './x.js' (NodeNext style); map those back to the .ts files
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.test.json' }],
  },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  testTimeout: 120000,
  maxWorkers: 2,
  verbose: true,
};
