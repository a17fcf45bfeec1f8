// kiwictl uncordon NODE...: make nodes bookable again (spec.unschedulable removed). Admins only.
import type { Command } from 'commander';
import { examples, verbAction } from '../verb.js';
import { CordonOptions } from '../cordon/index.js';

export function registerUncordon(program: Command): Command {
  return program
    .command('uncordon')
    .description('Make cordoned nodes bookable again. Admins only')
    .argument('[nodes...]', 'node names')
    .addHelpText('after', examples('kiwictl uncordon n01', 'kiwictl uncordon n01 n02'))
    .action(verbAction(() => new CordonOptions(false)));
}
