// The test harness every suite uses: real registry, real base images, rootless users, temp stores.
export * from './paths';
export * from './prereq';
export * from './tmp';
export * from './net';
export * from './registry';
export * from './users';
export * from './cli';
