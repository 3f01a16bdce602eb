// SPDX-License-Identifier: GPL-2.0-only
// The cheapest tool there is, for bench/calls: echo returns its argument.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const server = new McpServer({ name: 'echo', version: '1.0.0' });
server.registerTool('echo', { inputSchema: { text: z.string() } },
	({ text }) => ({ content: [{ type: 'text', text }] }));
await server.connect(new StdioServerTransport());
