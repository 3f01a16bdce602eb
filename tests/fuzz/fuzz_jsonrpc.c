// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for the interposer's JSON-RPC scanner
 * (user/wrapper/jsonrpc.c): any bytes, cut into chunks of sizes the first
 * byte chooses (and its low bit whether the arguments are kept). Every
 * message it reports has its strings terminated within their fields;
 * arguments kept whole are the bytes their digest is of, and kept or cut
 * short they are still one JSON value (json-c reads them as the agent
 * does, output/arguments.c, but as deep as the scanner goes). ASan and
 * UBSan watch the rest.
 */
#include <stdint.h>
#include <string.h>
#include <json-c/json.h>
#include "wrapper/jsonrpc.h"

static void check_args(const struct rpc_msg *m)
{
	unsigned char sha[SHA256_DIGEST_SIZE];
	struct sha256_ctx c;
	struct json_tokener *tok;
	json_object *o;
	bool ok;

	if (!m->args || (m->args_flags & MW_ARGS_OVER))
		return;
	if (!(m->args_flags & MW_ARGS_CUT)) {
		sha256_init(&c);
		sha256_update(&c, m->args_len, (const uint8_t *)m->args);
		sha256_digest(&c, sizeof(sha), sha);
		if (memcmp(sha, m->arguments_sha256, sizeof(sha)))
			__builtin_trap();
	}
	tok = json_tokener_new_ex(RPC_DEPTH_MAX + 1);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	/* The capture is not NUL-terminated: a copy that is. */
	{
		char buf[MW_ARGS_TEXT_MAX + 1];

		memcpy(buf, m->args, m->args_len);
		buf[m->args_len] = '\0';
		o = json_tokener_parse_ex(tok, buf, (int)m->args_len + 1);
	}
	ok = json_tokener_get_error(tok) == json_tokener_success &&
	     json_tokener_get_parse_end(tok) == m->args_len;
	json_object_put(o);
	json_tokener_free(tok);
	if (!ok)
		__builtin_trap();
}

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
	check_args(m);
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
	s.keep_args = data[0] & 1;
	for (off = 1; off < size; off += k) {
		k = size - off < chunk ? size - off : chunk;
		rpc_feed(&s, (const char *)data + off, k);
	}
	rpc_feed(&s, "\n", 1);
	return 0;
}
