// The concurrent CPU load while the bench measures (SwiftShader shares the cores with everything
// else): the page bench and `--gpt2-small` record it next to their numbers.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { MachineLoad } from './results';

/** The 1-minute load average (/proc/loadavg; NaN where there is none). */
export function loadavg1(): number {
  try {
    return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  } catch {
    return NaN;
  }
}

/** The 1-minute load average and the other processes over 20% CPU (not Chromium, not the bench itself). */
export function machineLoad(): MachineLoad {
  let procs: string[] = [];
  try {
    procs = execFileSync('ps', ['-eo', 'pcpu=,args=', '--sort=-pcpu'])
      .toString()
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => parseFloat(l) > 20 && !l.includes('chromium') && !l.includes('tools/bench') && !l.startsWith(l.split(' ')[0] + ' ps -eo'))
      .slice(0, 5);
  } catch {
    /* ps missing: report the load only */
  }
  return { loadavg1: loadavg1(), otherHeavyProcesses: procs };
}
