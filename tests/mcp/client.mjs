// SPDX-License-Identifier: GPL-2.0-only
// An MCP client of the official SDK over stdio, as a desktop client runs
// one: it starts the server from a command and args (a client config's
// entry), initializes, then makes the tool calls of a script in order.
//
//   node client.mjs SCRIPT.json
//
// SCRIPT: {"command": "...", "args": [...], "env": {...}, "cwd": "...",
//          "calls": [{"tool": "read_text_file", "arguments": {...}}, ...]}
// Prints one JSON object: what the client saw, for the test to assert on:
//   {"connected": bool, "server": {"name", "version"} | null,
//    "results": [{"tool", "isError", "text"} | {"tool", "error": {"code",
//    "message"}}], "closed_early": bool, "stderr": "..."}
import { readFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const script = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const out = { connected: false, server: null, results: [], closed_early: false,
	      stderr: '' };
let done = false;

const transport = new StdioClientTransport({
	command: script.command,
	args: script.args ?? [],
	env: script.env,
	cwd: script.cwd,
	stderr: 'pipe',
});
transport.stderr?.on('data', (b) => { out.stderr += b.toString(); });
const client = new Client({ name: 'mcpwarden-test-client', version: '1.0.0' });
client.onclose = () => { if (!done) out.closed_early = true; };

function text(result) {
	return (result.content ?? []).filter((c) => c.type === 'text')
		.map((c) => c.text).join('\n');
}

try {
	await client.connect(transport);
	out.connected = true;
	out.server = client.getServerVersion() ?? null;
	for (const call of script.calls ?? []) {
		try {
			const r = await client.callTool({ name: call.tool,
							   arguments: call.arguments ?? {} },
							 undefined, { timeout: 30000 });
			out.results.push({ tool: call.tool, isError: !!r.isError,
					   text: text(r) });
		} catch (e) {
			out.results.push({ tool: call.tool,
					   error: { code: e.code ?? null,
						    message: String(e.message ?? e) } });
			if (out.closed_early)
				break;
		}
	}
} catch (e) {
	out.results.push({ tool: null, error: { code: e.code ?? null,
					       message: String(e.message ?? e) } });
}
done = true;
await client.close().catch(() => {});
// Whatever the server wrote to stderr before it went.
await new Promise((r) => setTimeout(r, 0));
process.stdout.write(JSON.stringify(out) + '\n');
