// Types of compiled.js (plain JavaScript: it runs before anything can load TypeScript).
export declare const compiledEntries: string[];
export declare function compiledCacheDir(): string;
export declare function compiledEntry(source: string, env?: NodeJS.ProcessEnv): string | undefined;
export declare function ensureCompiled(source: string, env?: NodeJS.ProcessEnv): Promise<string | undefined>;
