// The one worker connection of the page (module state, not React state: it is not data to render).
import type { LabConnection } from '../lab/worker-api';

let conn: LabConnection | null = null;

export function connection(): LabConnection | null {
  return conn;
}

export function setConnection(c: LabConnection | null): void {
  conn = c;
}
