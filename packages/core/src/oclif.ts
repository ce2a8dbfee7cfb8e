/**
 * @oclif/core as the three CLIs import it: only what they use. The build replaces the compiled file
 * with one that loads a single bundled copy of these parts of @oclif/core through `require`
 * (scripts/bundle-vendor.mjs, which lists the same names), so a command's start-up reads one file
 * instead of about 100 modules resolved one by one; the types stay oclif's.
 */
export { Args, Command, Config, Flags, flush, handle, run, settings } from '@oclif/core';
export type { Hook, Interfaces, Plugin } from '@oclif/core';
