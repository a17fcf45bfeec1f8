// Every `kiwictl ...` command that a message, an error or a help text suggests must parse against
// kiwictl's real command tree (kiwictl/src/program.ts): the verb and sub-verb exist, every flag is
// one the verb (or the root program) has, and the number of arguments fits. Found by scanning the
// string literals of the sources (comments are not messages).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { buildProgram } from '../../../kiwictl/src/program.js';

const ROOTS = ['node-daemon/src', 'operator/src', 'crds/api', 'kiwictl/src'];

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** The parts of a line inside string or template literals (a rough lexer, enough for our sources). */
function literals(line: string): string[] {
  const out: string[] = [];
  let q: string | undefined;
  let cur = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (!q) {
      if (c === '/' && line[i + 1] === '/') break;
      if (c === "'" || c === '"' || c === '`') (q = c), (cur = '');
      continue;
    }
    if (c === '\\') {
      cur += line[i + 1] === 'n' ? '\n' : (line[i + 1] ?? '');
      i++;
    } else if (c === q) {
      out.push(cur);
      q = undefined;
    } else cur += c;
  }
  if (q) out.push(cur); // a template literal going on to the next line
  return out;
}

const STOP = /^(or|and|to|then|with|if|is|are|the|a|for|in|on|after|before|first|at|which|that|by|does|starts|runs|uses|never|prints|sets|builds)$/;

/** `kiwictl alloc -w ${node}` -> ['alloc', '-w', 'x']: placeholders become a sample value. */
export function suggestedCommands(text: string, verbs: ReadonlySet<string>): string[][] {
  const out: string[][] = [];
  for (const m of text.replace(/"[^"\n]*"/g, 'x').matchAll(/\bkiwictl ((?:[^\s`'"]+ ?)+)/g)) {
    const words: string[] = [];
    for (let w of m[1].replace(/\$\{[^}]*\}/g, 'x').replace(/\$\([^)]*\)/g, 'x').replace(/\[[^\]]*\]/g, ' ').trim().split(/\s+/)) {
      if (!w) continue;
      const end = /[:;,.)]$/.test(w) && !/^-/.test(w.slice(0, -1) + 'x') ? true : /[:;)]$/.test(w);
      w = w.replace(/[:;,.)]+$/, '');
      if (!words.length ? !/^[a-z][a-z-]*$/.test(w) : STOP.test(w) || /^[(<>|&]/.test(w)) break;
      if (w) words.push(/^[A-Z][A-Z_.]*$/.test(w) ? 'x' : w);
      if (end || w === '--') break;
    }
    // prose ("kiwictl reads from ...") is not a suggestion: the first word is a verb, or a flag follows it
    if (words.length && (verbs.has(words[0]) || words[1]?.startsWith('-'))) out.push(words);
  }
  return out;
}

/** Why argv does not parse against the tree, or undefined. Never runs an action. */
export function parseProblem(root: Command, argv: string[]): string | undefined {
  let cmd = root;
  const chain = [root];
  let i = 0;
  for (; i < argv.length; i++) {
    const sub = cmd.commands.find((c) => c.name() === argv[i] || c.aliases().includes(argv[i]));
    if (!sub) break;
    cmd = sub;
    chain.push(sub);
  }
  if (cmd === root) return `no verb ${JSON.stringify(argv[0])}`;
  const opts = chain.flatMap((c) => c.options);
  const args: string[] = [];
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') break;
    if (a === '-h' || a === '--help') continue;
    if (!a.startsWith('-') || a === '-') {
      args.push(a);
      continue;
    }
    const [flag, inline] = a.startsWith('--') ? [a.split('=')[0], a.includes('=')] : [a.slice(0, 2), a.length > 2];
    const o = opts.find((x) => x.long === flag || x.short === flag || (x.negate && x.long === flag));
    if (!o) return `${cmd.name()} has no option ${flag}`;
    if (o.required && !inline) {
      if (i + 1 >= argv.length) return `${flag} needs a value`;
      i++;
    }
  }
  const declared = cmd.registeredArguments;
  const variadic = declared.some((d) => d.variadic);
  if (cmd.commands.length && args.length && !declared.length) return `${cmd.name()} has no sub-verb ${JSON.stringify(args[0])} (${cmd.commands.map((c) => c.name()).join(', ')})`;
  if (!variadic && args.length > declared.length) return `${cmd.name()} takes ${declared.length} argument(s), got ${args.length} (${args.join(' ')})`;
  return undefined;
}

describe('commands suggested in messages parse against kiwictl\'s command tree', () => {
  const { program } = buildProgram();
  const verbs = new Set(program.commands.flatMap((c) => [c.name(), ...c.aliases()]));
  const found: { where: string; argv: string[] }[] = [];
  for (const f of ROOTS.flatMap(files)) {
    readFileSync(f, 'utf8').split('\n').forEach((line, n) => {
      const t = line.trim();
      if (t.startsWith('//') || t.startsWith('*') || t.startsWith('/*')) return;
      for (const lit of literals(line)) for (const argv of suggestedCommands(lit, verbs)) found.push({ where: `${f}:${n + 1}`, argv });
    });
  }

  it('finds the suggestions (the scan itself works)', () => {
    assert.ok(found.length >= 20, `only ${found.length} found`);
    assert.ok(found.some((x) => x.where.startsWith('node-daemon/src/decide/pam.ts') && x.argv[0] === 'alloc'), 'the PAM refusal\'s hint is among them');
  });

  it('every one parses', () => {
    const bad = found.map((x) => ({ ...x, problem: parseProblem(program, x.argv) })).filter((x) => x.problem);
    assert.deepEqual(bad.map((x) => `${x.where}: kiwictl ${x.argv.join(' ')}: ${x.problem}`), []);
  });

  it('the checker refuses what does not parse (the old PAM hint among them)', () => {
    assert.match(parseProblem(program, ['alloc', '--nodes', 'n1'])!, /alloc has no option --nodes/);
    assert.match(parseProblem(program, ['allocate'])!, /no verb/);
    assert.match(parseProblem(program, ['alloc', '-w'])!, /needs a value/);
    assert.equal(parseProblem(program, ['alloc', '-w', 'n1', '-t', '2h']), undefined);
    assert.equal(parseProblem(program, ['node', 'install-pam']), undefined);
    assert.match(parseProblem(program, ['node', 'install-pan'])!, /no sub-verb "install-pan"/);
    assert.deepEqual(suggestedCommands('book it with: kiwictl alloc --nodes n1; or wait', verbs), [['alloc', '--nodes', 'n1']]);
    assert.deepEqual(suggestedCommands('kiwictl reads from one input', verbs), []);
    assert.deepEqual(suggestedCommands('try kiwictl allocate -w n1', verbs), [['allocate', '-w', 'n1']]);
  });
});
