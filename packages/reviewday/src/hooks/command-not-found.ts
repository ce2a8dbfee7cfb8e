// One line and exit status 1 for a mistyped command.
export { commandNotFound as default } from '@smokestack/core/cli/mistakes';
