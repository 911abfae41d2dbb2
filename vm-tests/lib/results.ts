// Reads the guest's console: SMC-* lines into per-scenario results, checks and timings.

export type Verdict = 'PASS' | 'FAIL' | 'SKIP';

export interface Check {
  scenario: string;
  id: string;
  verdict: Verdict;
  detail: Record<string, unknown>;
}

export interface ScenarioRun {
  name: string;
  checks: Check[];
  phases: { label: string; ms: number }[];
  kernel: string[];
  logs: string[];
  /** Set when the driver printed SMC-END: wall time and "ok" or "error ...". */
  end?: { ms: number; status: string };
}

export class ConsoleParser {
  readonly scenarios = new Map<string, ScenarioRun>();
  readonly fatal: string[] = [];
  readonly marks: Record<string, number> = {};

  private get(name: string): ScenarioRun {
    let s = this.scenarios.get(name);
    if (!s) {
      s = { name, checks: [], phases: [], kernel: [], logs: [] };
      this.scenarios.set(name, s);
    }
    return s;
  }

  /** Returns what was recognised, so the caller can print progress. */
  feed(raw: string): { kind: string; scenario?: string; check?: Check } | undefined {
    const i = raw.indexOf('SMC-');
    if (i < 0) return undefined;
    const line = raw.slice(i);
    const m = /^SMC-([A-Z-]+)(?: (.*))?$/.exec(line);
    if (!m) return undefined;
    const kind = m[1]!;
    const rest = m[2] ?? '';
    const sp = rest.indexOf(' ');
    const name = sp < 0 ? rest : rest.slice(0, sp);
    const tail = sp < 0 ? '' : rest.slice(sp + 1);
    switch (kind) {
      case 'RESULT': {
        const r = /^(\S+) (PASS|FAIL|SKIP) ?(.*)$/.exec(tail);
        if (!r) return undefined;
        let detail: Record<string, unknown>;
        try {
          detail = JSON.parse(r[3] || '{}') as Record<string, unknown>;
        } catch {
          detail = { raw: r[3] };
        }
        const check: Check = { scenario: name, id: r[1]!, verdict: r[2] as Verdict, detail };
        this.get(name).checks.push(check);
        return { kind, scenario: name, check };
      }
      case 'BEGIN':
        this.get(name);
        return { kind, scenario: name };
      case 'END': {
        const e = /^(\d+) ?(.*)$/.exec(tail);
        this.get(name).end = { ms: Number(e?.[1] ?? 0), status: e?.[2] || 'ok' };
        return { kind, scenario: name };
      }
      case 'PHASE': {
        const p = /^(\S+) (\d+)$/.exec(tail);
        if (p) this.get(name).phases.push({ label: p[1]!, ms: Number(p[2]) });
        return { kind, scenario: name };
      }
      case 'AVC':
        this.get(name).kernel.push(tail);
        return { kind, scenario: name };
      case 'LOG':
        this.get(name).logs.push(tail);
        return { kind, scenario: name };
      case 'FATAL':
        this.fatal.push(rest);
        return { kind };
      default: {
        const up = /uptime=([\d.]+)/.exec(rest);
        if (up) this.marks[kind] = Number(up[1]);
        return { kind };
      }
    }
  }
}
