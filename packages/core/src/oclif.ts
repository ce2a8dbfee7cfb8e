/**
 * @oclif/core as the three CLIs import it. The build replaces the compiled file with one that loads a
 * single bundled copy of @oclif/core through `require` (scripts/bundle-vendor.mjs), so a command's
 * start-up reads one file instead of about 100 modules resolved one by one; the types stay oclif's.
 */
export * from '@oclif/core';
