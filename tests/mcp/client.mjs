// SPDX-License-Identifier: GPL-2.0-only
// An MCP client of the official SDK over stdio, as a desktop client runs
// one: it starts the server from a command and args (a client config's
// entry), initializes, then makes the tool calls of a script in order.
//
//   node client.mjs SCRIPT.json
//
// SCRIPT: {"command": "...", "args": [...], "env": {...}, "cwd": "...",
//          "calls": [{"tool": "read_text_file", "arguments": {...},
//                     "async": bool, "cancel": bool}
//                    | {"await_file": PATH}, ...],
//          "await_log": "prefix"}
// An "async" call is not waited for before the next (its result comes in
// the order the calls were made, after the others); a "cancel" call is
// aborted right after it is sent; an "await_file" step waits for the test
// to make PATH (no result); with "await_log" the
// client waits for a log message from the server starting so, then
// closes.
// Prints one JSON object: what the client saw, for the test to assert on:
//   {"connected": bool, "server": {"name", "version"} | null,
//    "results": [{"tool", "isError", "text"} | {"tool", "error": {"code",
//    "message"}}], "closed_early": bool, "stderr": "..."}
import { existsSync, readFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';

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
let logged;
const log = new Promise((r) => { logged = r; });
client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
	if (script.await_log && String(n.params.data).startsWith(script.await_log))
		logged(String(n.params.data));
});

function text(result) {
	return (result.content ?? []).filter((c) => c.type === 'text')
		.map((c) => c.text).join('\n');
}

try {
	await client.connect(transport);
	out.connected = true;
	out.server = client.getServerVersion() ?? null;
	const pending = [];
	const one = async (call) => {
		// "cancel": aborted once sent (the SDK sends notifications/cancelled).
		const ac = new AbortController();
		try {
			const p = client.callTool({ name: call.tool,
						    arguments: call.arguments ?? {} },
						  undefined, { timeout: 30000,
							       signal: ac.signal });
			if (call.cancel)
				setImmediate(() => ac.abort('cancelled by the script'));
			const r = await p;
			return { tool: call.tool, isError: !!r.isError, text: text(r) };
		} catch (e) {
			return { tool: call.tool, error: { code: e.code ?? null,
						  message: String(e.message ?? e) } };
		}
	};
	for (const call of script.calls ?? []) {
		if (call.await_file) {
			// A step, not a call: go on once the test made the file.
			while (!existsSync(call.await_file))
				await new Promise((r) => setTimeout(r, 10));
			continue;
		}
		if (call.async) {
			pending.push(one(call));
			continue;
		}
		out.results.push(await one(call));
		if (out.closed_early)
			break;
	}
	out.results.push(...await Promise.all(pending));
	if (script.await_log) {
		let timer;
		out.log = await Promise.race([log, new Promise((r) => {
			timer = setTimeout(() => r(null), 30000);
		})]);
		clearTimeout(timer);
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
