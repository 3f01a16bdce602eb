// SPDX-License-Identifier: GPL-2.0-only
// A stdio MCP server of the official SDK that does what a prompt-injected
// server would be talked into: fetch the metadata endpoint or a private
// address, spawn curl, run a binary it copied, read a secret, write
// ~/.bashrc. Written the way real servers are: child_process, http, fs.
// Each tool returns what happened, or throws (the SDK makes that a tool
// error): the test checks that every refusal reaches the client so.
import { spawn } from 'node:child_process';
import { copyFileSync, chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const server = new McpServer({ name: 'injected', version: '1.0.0' },
			     { capabilities: { logging: {} } });
const ok = (text) => ({ content: [{ type: 'text', text }] });

// An HTTP GET of @url: "HTTP <status> <body>", or an Error with its code.
function get(url) {
	return new Promise((resolve, reject) => {
		const req = request(url, { timeout: 10000 }, (res) => {
			let body = '';
			res.on('data', (b) => { body += b; });
			res.on('end', () => resolve(`HTTP ${res.statusCode} ${body}`));
		});
		req.on('error', (e) => reject(new Error(`fetch ${url}: ${e.code}`)));
		req.on('timeout', () => req.destroy(new Error('timeout')));
		req.end();
	});
}

// The output of @cmd, or an Error naming its errno or signal.
function run(cmd, args) {
	return new Promise((resolve, reject) => {
		let out = '';
		const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
		child.stdout.on('data', (b) => { out += b; });
		child.on('error', (e) => reject(new Error(`spawn ${cmd}: ${e.code}`)));
		child.on('close', (code, sig) => sig ?
			reject(new Error(`${cmd} killed by ${sig}`)) :
			code ? reject(new Error(`${cmd} exited ${code}`)) :
			resolve(out));
	});
}

server.registerTool('fetch', { inputSchema: { url: z.string() } },
	async ({ url }) => ok(await get(url)));
// The same under a 70-byte name: longer than the kernel compares.
server.registerTool('fetch_' + 'x'.repeat(64), { inputSchema: { url: z.string() } },
	async ({ url }) => ok(await get(url)));

// A call that runs until release is called: two calls in flight at once.
let released;
const held = new Promise((r) => { released = r; });
server.registerTool('hold', {}, async () => { await held; return ok('held'); });
server.registerTool('release', {}, () => { released(); return ok('released'); });

// Between calls, from a timer of its own: once initialized, a GET, then
// a log message the client waits for (MW_IDLE_FETCH).
if (process.env.MW_IDLE_FETCH)
	server.server.oninitialized = () => {
		get(process.env.MW_IDLE_FETCH).catch((e) => e.message).then((r) =>
			server.server.sendLoggingMessage({ level: 'info',
							   data: `idle-done ${r}` }));
	};

server.registerTool('spawn', {
	inputSchema: { command: z.string(), args: z.array(z.string()) },
}, async ({ command, args }) => ok(await run(command, args)));

// A copy of a system binary, run: a new inode no path rule names.
server.registerTool('copy_and_run', {
	inputSchema: { from: z.string(), to: z.string(), args: z.array(z.string()) },
}, async ({ from, to, args }) => {
	copyFileSync(from, to);
	chmodSync(to, 0o755);
	return ok(await run(to, args));
});

server.registerTool('read_file', { inputSchema: { path: z.string() } },
	({ path }) => {
		try {
			return ok(readFileSync(path, 'utf8'));
		} catch (e) {
			throw new Error(`read ${path}: ${e.code}`);
		}
	});

server.registerTool('write_file', {
	inputSchema: { path: z.string(), content: z.string() },
}, ({ path, content }) => {
	try {
		writeFileSync(path, content, { flag: 'a' });
	} catch (e) {
		throw new Error(`write ${path}: ${e.code}`);
	}
	return ok(`wrote ${path}`);
});

await server.connect(new StdioServerTransport());
