// The published JSON Schema agrees with the loader: every valid fixture and example passes it,
// and the invalid fixtures whose problem is one of shape (not of meaning) fail it.

import test from 'ava';
import { Ajv } from 'ajv';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { cases, readPolicy } from './helpers/fixtures.js';
import { ROOT } from './helpers/cli.js';

const schema = JSON.parse(readFileSync(join(ROOT, 'schema/policy.schema.json'), 'utf8')) as object;
const validate = new Ajv({ allErrors: true, strict: true, strictRequired: false }).compile(schema);

for (const { name, dir } of cases('valid')) {
  test(`schema accepts valid/${name}`, (t) => {
    t.true(validate(parse(readPolicy(dir))), JSON.stringify(validate.errors));
  });
}

for (const file of readdirSync(join(ROOT, 'examples')).filter((f) => f.endsWith('.yaml'))) {
  test(`schema accepts examples/${file}`, (t) => {
    t.true(validate(parse(readFileSync(join(ROOT, 'examples', file), 'utf8'))), JSON.stringify(validate.errors));
  });
}

/** Problems of shape the schema can see; the others (overlaps, host bits, ...) only the compiler can. */
const SHAPE_PROBLEMS = ['unknown-key', 'bad-ports', 'port-hints', 'injection', 'missing-keys', 'wrong-version-and-types', 'not-a-mapping'];
for (const name of SHAPE_PROBLEMS) {
  test(`schema rejects invalid/${name}`, (t) => {
    t.false(validate(parse(readPolicy(join(ROOT, 'test/fixtures/invalid', name)))));
  });
}
