export { run } from '@smokestack/core/oclif';
