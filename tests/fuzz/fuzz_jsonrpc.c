// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for the interposer's JSON-RPC scanner
 * (user/wrapper/jsonrpc.c): any bytes, cut into chunks of sizes the first
 * byte chooses. Every message it reports has its strings terminated
 * within their fields (ASan and UBSan watch the rest).
 */
#include <stdint.h>
#include <string.h>
#include "wrapper/jsonrpc.h"

static void on_msg(void *arg, const struct rpc_msg *m)
{
	size_t *n = arg;

	if (strnlen(m->id, sizeof(m->id)) == sizeof(m->id) ||
	    strnlen(m->method, sizeof(m->method)) == sizeof(m->method) ||
	    strnlen(m->tool, sizeof(m->tool)) == sizeof(m->tool) ||
	    strnlen(m->client, sizeof(m->client)) == sizeof(m->client) ||
	    strnlen(m->client_version, sizeof(m->client_version)) ==
		    sizeof(m->client_version) ||
	    strnlen(m->request_id, sizeof(m->request_id)) == sizeof(m->request_id) ||
	    m->kind > RPC_RESPONSE || (m->kind == RPC_RESPONSE && m->method[0]))
		__builtin_trap();
	++*n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rpc_scanner s;
	size_t chunk, off, k, n = 0;

	if (!size)
		return 0;
	chunk = data[0] ? data[0] : 1;
	rpc_scanner_init(&s, on_msg, &n);
	for (off = 1; off < size; off += k) {
		k = size - off < chunk ? size - off : chunk;
		rpc_feed(&s, (const char *)data + off, k);
	}
	rpc_feed(&s, "\n", 1);
	return 0;
}
