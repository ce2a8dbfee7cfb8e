import { Flags } from '@smokestack/core/oclif';
import { SmokestackCommand } from '@smokestack/core/cli';
import { createBellowsContext } from '@smokestack/core/bellows/context';
import { eventStreamFromConfig, runStream, type StreamResult } from '@smokestack/core/bellows/stream';
import { requireGerrit } from '@smokestack/core/bellows/settings';

export default class Stream extends SmokestackCommand {
  static override summary = 'Follow Gerrit stream-events over SSH and act on each event; runs until SIGTERM or SIGINT.';
  static override description =
    'Handles patchset-created, comment-added (recheck), change-merged, change-abandoned, change-restored and wip-state-changed. ' +
    'Every (re)connect and every dropped-output is followed by a catch-up sweep, so events lost while disconnected are not missed.';
  static override examples = ['<%= config.bin %> stream --fire', 'SMOKESTACK_CONFIG=/etc/smokestack.yaml <%= config.bin %> stream --fire --verbose'];
  static override flags = {
    fire: Flags.boolean({ description: 'queue jobs for new and ready patch sets', env: 'BELLOWS_FIRE' }),
    'insecure-accept-host-key': Flags.boolean({ description: 'accept any SSH host key (never in production: verify with known_hosts or gerrit.ssh.hostKey)' }),
  };

  async run(): Promise<StreamResult> {
    const { flags } = await this.parse(Stream);
    const ctx = createBellowsContext({ loaded: this.settings, store: this.store, logger: this.progress });
    const source = eventStreamFromConfig(requireGerrit(this.settings), { insecureAcceptHostKey: flags['insecure-accept-host-key'], logger: this.progress });
    const controller = new AbortController();
    const stop = (): void => controller.abort();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    try {
      const result = await runStream(ctx, source, { fire: flags.fire, signal: controller.signal });
      this.log(`Stopped after ${result.events} event(s): ${result.handled} acted on, ${result.queued} job(s) queued, ${result.connects} connection(s).`);
      return result;
    } finally {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
    }
  }
}
