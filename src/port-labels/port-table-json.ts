// `secmarkc ports --json` output, and reading it back for `--ports-from FILE`: the offline
// input of `ports: policy` (goldens, host tests, compiling for another machine). Everything in
// the file is checked as if it came from a stranger: type names reach nft and CIL.

import { typeProblem } from '../policy/names.js';
import { PORT_PROTOCOLS, type PortLabel, type PortProtocol, type PortTable, type SkippedPortType } from './port-table.js';
import { SecmarkcError } from '../errors.js';

export const PORT_TABLE_FORMAT = 'secmarkc-ports/1';

export function portTableJson(table: PortTable, source: string): unknown {
  return {
    format: PORT_TABLE_FORMAT,
    source,
    labels: table.labels.map((l) => ({
      protocol: l.protocol,
      from: l.from,
      to: l.to,
      portType: l.portType,
      client: l.client ?? null,
      server: l.server ?? null,
    })),
    skipped: table.skipped,
  };
}

export class PortTableFileError extends SecmarkcError {
  constructor(file: string, message: string) {
    super('SMC131', `${file}: ${message}`);
  }
}

/** Parse and validate a saved port table; throws PortTableFileError naming the bad field. */
export function parsePortTableJson(text: string, file: string): PortTable {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new PortTableFileError(file, `not JSON (${(error as Error).message}); expected the output of secmarkc ports --json`);
  }
  const fail = (where: string, message: string): never => {
    throw new PortTableFileError(file, `${where}: ${message}`);
  };
  if (!isObject(data) || data.format !== PORT_TABLE_FORMAT) fail('format', `expected "${PORT_TABLE_FORMAT}" (the output of secmarkc ports --json)`);
  const root = data as Record<string, unknown>;
  if (!Array.isArray(root.labels)) fail('labels', 'expected a list');
  if (!Array.isArray(root.skipped)) fail('skipped', 'expected a list');

  const type = (where: string, value: unknown, optional: boolean): string | undefined => {
    if (optional && (value === null || value === undefined)) return undefined;
    if (typeof value !== 'string') return fail(where, 'expected a type name');
    const problem = typeProblem(value);
    if (problem) fail(where, `"${value}" ${problem}`);
    return value;
  };
  const labels: PortLabel[] = (root.labels as unknown[]).map((item, i) => {
    const where = `labels[${i}]`;
    if (!isObject(item)) return fail(where, 'expected an object');
    if (!(PORT_PROTOCOLS as readonly unknown[]).includes(item.protocol)) fail(`${where}.protocol`, `expected one of ${PORT_PROTOCOLS.join(', ')}`);
    for (const key of ['from', 'to'] as const) {
      const v = item[key];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535) fail(`${where}.${key}`, 'expected a port 0-65535');
    }
    if ((item.from as number) > (item.to as number)) fail(where, 'range is reversed');
    const client = type(`${where}.client`, item.client, true);
    const server = type(`${where}.server`, item.server, true);
    if (!client && !server) fail(where, 'needs a client or a server packet type');
    return {
      protocol: item.protocol as PortProtocol,
      from: item.from as number,
      to: item.to as number,
      portType: type(`${where}.portType`, item.portType, false) as string,
      ...(client ? { client } : {}),
      ...(server ? { server } : {}),
    };
  });
  const order = (l: PortLabel): number => PORT_PROTOCOLS.indexOf(l.protocol) * 65536 + l.from;
  for (let i = 1; i < labels.length; i++) {
    const a = labels[i - 1] as PortLabel;
    const b = labels[i] as PortLabel;
    if (order(b) <= order(a) || (a.protocol === b.protocol && b.from <= a.to)) fail(`labels[${i}]`, 'labels must be sorted by protocol and port and must not overlap');
  }
  const skipped: SkippedPortType[] = (root.skipped as unknown[]).map((item, i) => {
    if (!isObject(item) || typeof item.portType !== 'string' || typeof item.reason !== 'string') return fail(`skipped[${i}]`, 'expected {portType, reason}');
    return { portType: item.portType, reason: item.reason };
  });
  return { labels, skipped };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
