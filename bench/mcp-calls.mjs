// SPDX-License-Identifier: GPL-2.0-only
// bench/calls' client: the official SDK over stdio, N tools/call round
// trips of echo, one after the other, each timed.
//   node mcp-calls.mjs N COMMAND [ARGS...]
// Prints {"ms": [per call], "child_cpu_ns": N}: child_cpu_ns is the CPU
// of the process the client started (the interposer, or the server),
// from its schedstat before the client closes.
import { readFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const [n, command, ...args] = process.argv.slice(2);
const transport = new StdioClientTransport({ command, args, stderr: 'inherit' });
const client = new Client({ name: 'mcpwarden-bench', version: '1.0.0' });
await client.connect(transport);
for (let i = 0; i < 20; i++)	// warm-up: JIT, caches
	await client.callTool({ name: 'echo', arguments: { text: 'w' } });
const cpu = () => Number(readFileSync(`/proc/${transport.pid}/schedstat`,
				      'utf8').split(' ')[0]);
const ms = [];
const c0 = cpu();
for (let i = 0; i < Number(n); i++) {
	const t = performance.now();
	await client.callTool({ name: 'echo', arguments: { text: `call ${i}` } });
	ms.push(performance.now() - t);
}
const child = cpu() - c0;
await client.close();
process.stdout.write(JSON.stringify({ ms, child_cpu_ns: child }) + '\n');
