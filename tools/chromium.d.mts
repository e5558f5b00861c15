export function chromiumPath(): string;
export function chromiumArgs(opts?: { webgpu?: boolean }): string[];
export function chromiumExists(): boolean;
