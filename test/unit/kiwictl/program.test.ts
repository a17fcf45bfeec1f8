// main.ts builds the program with only the verb a command runs (program.ts verbOf): these check
// that the verb is found past the global options, that anything else (help, --version, an
// unknown word, the verbs that read the whole tree) still gets every verb, and that each entry of
// VERBS is named as the command its register function makes.
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { buildProgram, verbOf, VERBS } from '../../../kiwictl/src/program.js';

const VALUED = new Set(['--endpoints', '--config', '--request-timeout']);

describe('kiwictl registers only the verb being run', () => {
  it('each VERBS key is the name of the command its register function makes', () => {
    for (const [name, register] of Object.entries(VERBS)) assert.equal(register(new Command('kiwictl')).name(), name);
  });

  it('finds the verb after global options, with their values given apart or with =', () => {
    assert.equal(verbOf(['get', 'nodes'], VALUED), 'get');
    assert.equal(verbOf(['--endpoints', 'http://127.0.0.1:2379', 'get', 'bookings', '-A'], VALUED), 'get');
    assert.equal(verbOf(['--endpoints=http://127.0.0.1:2379', '--request-timeout', '500', 'alloc', '-N', '1'], VALUED), 'alloc');
    // the option value looks like a verb: it is the value, not the verb
    assert.equal(verbOf(['--config', 'get', 'info'], VALUED), 'info');
  });

  it('gives every verb for help, --version, an unknown word, no word, man and completion', () => {
    for (const args of [[], ['--help'], ['-h'], ['--version'], ['help', 'get'], ['gte', 'nodes'], ['man'], ['completion', 'bash'], ['toString']]) assert.equal(verbOf(args, VALUED), undefined, args.join(' '));
  });

  it('buildProgram(args) holds just that verb, and every verb without args or for help', () => {
    assert.deepEqual(buildProgram(['--endpoints', 'http://127.0.0.1:1', 'get', 'nodes']).program.commands.map((c) => c.name()), ['get']);
    assert.deepEqual(buildProgram(['--help']).program.commands.map((c) => c.name()), Object.keys(VERBS));
    assert.deepEqual(buildProgram().program.commands.map((c) => c.name()), Object.keys(VERBS));
  });
});
