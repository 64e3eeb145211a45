#!/usr/bin/env node
// Lint every .cypher file under cypher/ with Neo4j's own parser
// (@neo4j-cypher/language-support, lintCypherQuery).
//
// Usage: node lint.mjs [CYPHER_DIR]   (default: ../../cypher relative to this file)
// Statements are split on ';' at the end of a line. Errors (severity 1) fail the run
// and are printed as file:line:col: error: message; warnings (severity 2, e.g.
// deprecations) are printed but do not fail it. Without a database schema the parser
// reports every $param as "not defined": those diagnostics are expected and ignored.
import { lintCypherQuery, isNotParamError } from '@neo4j-cypher/language-support';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(process.argv[2] ?? join(here, '..', '..', 'cypher'));

function cypherFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...cypherFiles(path));
    else if (name.endsWith('.cypher')) out.push(path);
  }
  return out;
}

// Split into statements on ';' at a line end, keeping each statement's first line number.
function splitStatements(text) {
  const statements = [];
  const lines = text.split('\n');
  let buf = [];
  let start = 0;
  lines.forEach((line, i) => {
    if (buf.length === 0) start = i;
    const trimmed = line.replace(/\s+$/, '');
    if (trimmed.endsWith(';')) {
      buf.push(trimmed.slice(0, -1));
      statements.push({ text: buf.join('\n'), line: start });
      buf = [];
    } else {
      buf.push(line);
    }
  });
  if (buf.join('').trim()) statements.push({ text: buf.join('\n'), line: start });
  return statements.filter((s) =>
    s.text.split('\n').some((l) => l.trim() && !l.trim().startsWith('//')),
  );
}

const files = cypherFiles(root);
if (files.length === 0) {
  console.error(`no .cypher files under ${root}`);
  process.exit(2);
}
let errors = 0;
let warnings = 0;
let count = 0;
for (const file of files) {
  const rel = relative(process.cwd(), file);
  for (const stmt of splitStatements(readFileSync(file, 'utf8'))) {
    count += 1;
    const { diagnostics } = lintCypherQuery(stmt.text, {});
    for (const d of diagnostics) {
      if (!isNotParamError(d)) continue; // "Parameter $x is not defined": no schema given
      const line = stmt.line + d.range.start.line + 1;
      const col = d.range.start.character + 1;
      const kind = d.severity === 1 ? 'error' : 'warning';
      if (d.severity === 1) errors += 1;
      else warnings += 1;
      console.log(`${rel}:${line}:${col}: ${kind}: ${d.message}`);
    }
  }
}
console.log(
  `cypher-lint: ${files.length} files, ${count} statements, ${errors} errors, ${warnings} warnings`,
);
process.exit(errors > 0 ? 1 : 0);
