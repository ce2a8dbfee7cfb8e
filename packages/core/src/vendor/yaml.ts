/** yaml as core imports it: the build replaces the compiled file with one bundled copy (scripts/bundle-vendor.mjs). */
export * from 'yaml';
