/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the interposer (interpose.c) understands of the bytes it passes: a
 * streaming scanner of newline-delimited JSON-RPC 2.0 (the MCP stdio
 * transport). Bytes go in as they come, in chunks of any size; at each
 * newline the line's message, if it was one, is reported. Memory is this
 * struct whatever the peer sends: strings are kept only where a field of
 * interest is, cut at its size; "params.arguments" is hashed as it passes
 * (sha256 of its JSON text as sent), and kept only if asked (rpc_capture:
 * strings cut short, at most MW_ARGS_TEXT_MAX bytes); a line nested deeper than
 * RPC_DEPTH_MAX, not JSON, or not JSON-RPC is no message, and is ignored.
 */
#ifndef MW_JSONRPC_H
#define MW_JSONRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <nettle/sha2.h>
#include "mcpwarden.h"

#define RPC_DEPTH_MAX	1024
#define RPC_ID_MAX	80	/* an id's JSON text, a longer one is cut */
#define RPC_STR_MAX	128	/* a method, tool or client name, decoded */
#define RPC_KEY_MAX	16	/* the longest key we look for, "protocolVersion" */

enum rpc_kind { RPC_REQUEST, RPC_NOTIFICATION, RPC_RESPONSE };

/* One message; strings are NUL-terminated, "" when absent. */
struct rpc_msg {
	enum rpc_kind kind;
	char id[RPC_ID_MAX + 1];	/* a string id decoded, or a number's text */
	bool id_is_str, id_cut;		/* cut: longer than RPC_ID_MAX */
	char method[RPC_STR_MAX + 1];
	char tool[RPC_STR_MAX + 1];	/* tools/call: params.name */
	char client[RPC_STR_MAX + 1];	/* initialize: params.clientInfo.name */
	char client_version[RPC_STR_MAX + 1];
	char request_id[RPC_ID_MAX + 1];	/* notifications/cancelled */
	bool request_id_is_str;
	bool has_arguments;
	unsigned char arguments_sha256[SHA256_DIGEST_SIZE];
	/* Kept (capture on): the text, with MW_ARGS_* flags; NULL if not. */
	const char *args;
	size_t args_len;
	unsigned int args_flags;
	bool error;			/* a response with "error" */
	bool is_error;			/* a result with "isError": true */
	size_t bytes;			/* of the line, its newline too */
};

/*
 * params.arguments' text as it passes, for the start events: each string
 * value cut after MW_ARGS_STR_MAX bytes of its JSON text, at a
 * character's start, so that what is kept is still JSON; keys whole (a
 * pattern of mcp.redact matches all of a key); none at all if that is
 * longer than the buffer.
 */
struct rpc_capture {
	bool on;		/* keep_args when they began */
	bool in_str, esc, skip;	/* skip: the rest of this string is cut */
	int uni;		/* \u digits left */
	unsigned int cp;	/* their value so far */
	bool hi;		/* the last character a high surrogate */
	size_t str;		/* bytes of the string at hand kept */
	size_t len;
	unsigned int flags;	/* MW_ARGS_CUT, MW_ARGS_OVER */
	/* Where it is, to tell a key from a value. */
	bool expect_key, is_key;
	int depth;
	unsigned char obj[RPC_DEPTH_MAX / 8 + 1];	/* a bit a level: '{' */
	char text[MW_ARGS_TEXT_MAX];
};

struct rpc_scanner {
	void (*on_msg)(void *arg, const struct rpc_msg *m);
	void *arg;
	/* The line so far. */
	struct rpc_msg m;
	size_t bytes;
	bool broken;		/* not a JSON object, or too deep: to the newline */
	bool done;		/* the top-level value ended */
	bool has_jsonrpc, has_id, has_result;
	int depth;
	/* The keys of the path to here, for the levels that matter. */
	char key[4][RPC_KEY_MAX + 1];
	bool key_cut[4];
	/* A string or scalar token in progress. */
	bool in_str, esc, in_token, token_is_key;
	int uni;		/* \u digits left; 0 none */
	unsigned int cp, hi;	/* its code point; a pending high surrogate */
	char tok[RPC_STR_MAX + 1];
	size_t tok_len;
	bool tok_cut;
	unsigned char num;	/* a token's grammar so far (jsonrpc.c) */
	char lit[10];		/* its first bytes, for the literals */
	size_t lit_len;
	int capture;		/* which field the value at hand is (jsonrpc.c) */
	/* params.arguments, hashed from its first byte to its last. */
	bool hashing;
	int hash_depth;
	size_t hash_from;	/* where in the chunk at hand it resumes */
	struct sha256_ctx sha;
	/* Last: not cleared per line (a level's state is set as it opens). */
	char stack[RPC_DEPTH_MAX];	/* '{' or '[' */
	unsigned char state[RPC_DEPTH_MAX + 1];	/* see jsonrpc.c */
	struct rpc_capture cap;
	bool keep_args;		/* the caller's: capture the next arguments */
};

/* @m is a @kind (request or notification) of @method. */
static inline bool rpc_is(const struct rpc_msg *m, enum rpc_kind kind,
			  const char *method)
{
	return m->kind == kind && !strcmp(m->method, method);
}

void rpc_scanner_init(struct rpc_scanner *s,
		      void (*on_msg)(void *arg, const struct rpc_msg *m),
		      void *arg);
/* Scan @n bytes of the stream; @on_msg for each message a newline ends. */
void rpc_feed(struct rpc_scanner *s, const char *buf, size_t n);

#endif /* MW_JSONRPC_H */
