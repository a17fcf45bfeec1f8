// Pure: strict JSON for `-f` input that is JSON (a .json file, or text that starts with `{`), as
// kubectl reads it: no trailing commas, no comments, no single quotes. JSON.parse does the work;
// only when it fails does a small scanner find where, and say it the way Go's encoding/json
// (and so kubectl) does: "invalid character '}' looking for beginning of object key string".

export interface JsonProblem {
  line: number;
  column: number;
  message: string;
}

/** Whether `-f` input is to be read as JSON: a .json name, or text whose first character is `{`. */
export function isJsonInput(name: string, text: string): boolean {
  return /\.json$/i.test(name) || /^\s*\{/.test(text);
}

/** Parses one JSON value, or returns where and why it is not JSON. */
export function parseStrictJson(text: string): { value: unknown } | { problem: JsonProblem } {
  try {
    return { value: JSON.parse(text) };
  } catch (e) {
    if (e instanceof RangeError) return { problem: { line: 1, column: 1, message: 'nested too deeply to read' } };
    return { problem: locateJsonError(text) };
  }
}

const quote = (c: string) => (c === "'" ? `'\\''` : `'${c}'`);

/** Finds the first place where `text` stops being JSON (Go's wording, 1-based line and column). */
export function locateJsonError(text: string): JsonProblem {
  let i = 0;
  const at = (message: string, pos = i): JsonProblem => {
    let line = 1;
    let col = 1;
    for (let k = 0; k < pos && k < text.length; k++) {
      if (text[k] === '\n') {
        line++;
        col = 1;
      } else col++;
    }
    return { line, column: col, message };
  };
  class Stop {
    constructor(readonly p: JsonProblem) {}
  }
  const fail = (what: string): never => {
    if (i >= text.length) throw new Stop(at('unexpected end of JSON input'));
    const c = text[i];
    let hint = '';
    if (c === '}' || c === ']') {
      // a comma right before the closing bracket
      let k = i - 1;
      while (k >= 0 && /\s/.test(text[k])) k--;
      if (text[k] === ',') hint = ' (a trailing comma before it: JSON allows none)';
    } else if (c === '#' || (c === '/' && (text[i + 1] === '/' || text[i + 1] === '*'))) hint = ' (JSON has no comments)';
    else if (c === "'") hint = ' (JSON strings take double quotes)';
    throw new Stop(at(`invalid character ${quote(c)} ${what}${hint}`));
  };
  const ws = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const str = () => {
    i++; // opening quote
    while (i < text.length) {
      const c = text[i];
      if (c === '"') {
        i++;
        return;
      }
      if (c === '\\') {
        const n = text[i + 1];
        if (n === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
            i += 2;
            fail('in \\u hexadecimal character escape');
          }
          i += 6;
        } else if (n !== undefined && '"\\/bfnrt'.includes(n)) i += 2;
        else {
          i++;
          fail('in string escape code');
        }
        continue;
      }
      if (c < ' ') fail('in string literal');
      i++;
    }
    fail('in string literal');
  };
  const num = () => {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 400));
    if (!m || m[0] === '-') {
      i += m ? 1 : 0;
      fail('in numeric literal');
    }
    i += m![0].length;
  };
  const value = (depth: number): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') return void i++;
      for (;;) {
        ws();
        if (text[i] !== '"') fail('looking for beginning of object key string');
        str();
        ws();
        if (text[i] !== ':') fail('after object key');
        i++;
        value(depth + 1);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') return void i++;
        fail('after object key:value pair');
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (;;) {
        value(depth + 1);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') return void i++;
        fail('after array element');
      }
    }
    if (c === '"') return str();
    if (c === '-' || (c >= '0' && c <= '9')) return num();
    for (const lit of ['true', 'false', 'null']) {
      if (text.startsWith(lit, i)) {
        i += lit.length;
        return;
      }
    }
    if (c !== undefined && /[tfn]/.test(c)) {
      // a literal cut short or misspelt: Go names the first wrong character
      const lit = c === 't' ? 'true' : c === 'f' ? 'false' : 'null';
      let k = 0;
      while (text[i + k] === lit[k]) k++;
      i += k;
      fail(`in literal ${lit} (expecting ${quote(lit[k])})`);
    }
    fail('looking for beginning of value');
  };
  try {
    value(0);
    ws();
    if (i < text.length) fail('after top-level value');
  } catch (e) {
    if (e instanceof Stop) return e.p;
    throw e;
  }
  return at('not valid JSON', 0); // JSON.parse failed for a reason the scanner does not know
}
