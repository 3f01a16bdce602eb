// SPDX-License-Identifier: GPL-2.0-only
/*
 * The interposer's JSON-RPC scanner (wrapper/jsonrpc.c): the messages of
 * an MCP session recognised whatever the chunking, what is not JSON-RPC
 * ignored, the arguments' digest that of their bytes as sent, memory the
 * same for a line of megabytes or one with no end.
 */
#include <stdlib.h>
#include <string.h>
#include "wrapper/jsonrpc.h"
#include "unit.h"

#define MSGS_MAX 16

struct seen {
	struct rpc_msg m[MSGS_MAX];
	int n;
};

static void on_msg(void *arg, const struct rpc_msg *m)
{
	struct seen *s = arg;

	if (s->n < MSGS_MAX)
		s->m[s->n] = *m;
	s->n++;
}

/* @text fed in chunks of @chunk bytes (0: at once). */
static struct seen scan(const char *text, size_t len, size_t chunk)
{
	struct rpc_scanner *sc = malloc(sizeof(*sc));
	struct seen s = {};
	size_t off, k;

	rpc_scanner_init(sc, on_msg, &s);
	for (off = 0; off < len; off += k) {
		k = chunk && len - off > chunk ? chunk : len - off;
		rpc_feed(sc, text + off, k);
	}
	free(sc);
	return s;
}

static struct seen scan_str(const char *text, size_t chunk)
{
	return scan(text, strlen(text), chunk);
}

static void sha_of(const char *text, unsigned char out[SHA256_DIGEST_SIZE])
{
	struct sha256_ctx c;

	sha256_init(&c);
	sha256_update(&c, strlen(text), (const uint8_t *)text);
	sha256_digest(&c, SHA256_DIGEST_SIZE, out);
}

static const char session[] =
	"{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":\"claude-code\",\"version\":\"1.2.3\"}}}\n"
	"{\"jsonrpc\":\"2.0\",\"id\":0,\"result\":{\"protocolVersion\":\"2025-06-18\",\"serverInfo\":{\"name\":\"fs\"}}}\n"
	"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n"
	"{\"method\":\"tools/call\",\"params\":{\"arguments\":{\"path\":\"/tmp/a \\\"b\\\"\",\"n\":[1,2.5e3,true,null]},\"name\":\"read_file\"},\"jsonrpc\":\"2.0\",\"id\":\"call-1\"}\r\n"
	"not json at all\n"
	"{\"jsonrpc\":\"2.0\",\"id\":\"call-1\",\"result\":{\"content\":[],\"isError\":true}}\n"
	"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":7,\"reason\":\"x\"}}\n"
	"{\"jsonrpc\":\"2.0\",\"id\":7,\"error\":{\"code\":-32601,\"message\":\"no\"}}\n";

static int check_session(const struct seen *s)
{
	unsigned char want[SHA256_DIGEST_SIZE];
	int bad = 0;

	sha_of("{\"path\":\"/tmp/a \\\"b\\\"\",\"n\":[1,2.5e3,true,null]}", want);
	bad |= s->n != 7;
	bad |= s->m[0].kind != RPC_REQUEST || strcmp(s->m[0].method, "initialize") ||
	       strcmp(s->m[0].client, "claude-code") ||
	       strcmp(s->m[0].client_version, "1.2.3") || strcmp(s->m[0].id, "0") ||
	       s->m[0].id_is_str;
	bad |= s->m[1].kind != RPC_RESPONSE || s->m[1].error || s->m[1].is_error;
	bad |= s->m[2].kind != RPC_NOTIFICATION ||
	       strcmp(s->m[2].method, "notifications/initialized");
	bad |= s->m[3].kind != RPC_REQUEST || strcmp(s->m[3].tool, "read_file") ||
	       strcmp(s->m[3].id, "call-1") || !s->m[3].id_is_str ||
	       !s->m[3].has_arguments ||
	       memcmp(s->m[3].arguments_sha256, want, sizeof(want));
	bad |= s->m[4].kind != RPC_RESPONSE || !s->m[4].is_error ||
	       strcmp(s->m[4].id, "call-1");
	bad |= s->m[5].kind != RPC_NOTIFICATION || strcmp(s->m[5].request_id, "7") ||
	       s->m[5].request_id_is_str;
	bad |= s->m[6].kind != RPC_RESPONSE || !s->m[6].error;
	return bad;
}

UNIT_TEST(session_whatever_the_chunks)
{
	size_t chunk;

	for (chunk = 0; chunk < 64; chunk++) {
		struct seen s = scan_str(session, chunk);

		if (check_session(&s)) {
			printf("    chunks of %zu\n", chunk);
			CHECK(0);
			return;
		}
	}
}

UNIT_TEST(not_messages)
{
	static const char *const lines[] = {
		"{\"id\":1,\"method\":\"x\"}\n",			/* no jsonrpc */
		"{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"x\"}\n",
		"[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\"}]\n",	/* a batch */
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\"} x\n",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\"\n",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",}\n",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\tb\"}\n",	/* raw tab */
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\\q\"}\n",
		"{\"jsonrpc\":\"2.0\",\"id\":1 \"method\":\"x\"}\n",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\"]\n",
		"{\"jsonrpc\":\"2.0\",\"id\":1}\n",			/* neither */
		"{\"jsonrpc\":\"2.0\",\"id\":null,\"result\":{}}\n",
		"{\"jsonrpc\":\"2.0\",\"id\":nul,\"result\":{}}\n",	/* literals */
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"a\":hello}\n",
		"{\"jsonrpc\":\"2.0\",\"id\":01,\"result\":{}}\n",
		"{\"jsonrpc\":\"2.0\",\"id\":1.,\"result\":{}}\n",
		"{\"jsonrpc\":\"2.0\",\"id\":-,\"result\":{}}\n",
		"{\"jsonrpc\":\"2.0\",\"id\":1e,\"result\":{}}\n",
		"\n", "\xff\xfe\n", "}\n", "\"a\"\n",
	};
	size_t i;

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		struct seen s = scan_str(lines[i], 0);

		if (s.n) {
			printf("    a message in %s", lines[i]);
			CHECK(0);
		}
	}
}

UNIT_TEST(escapes_decoded_and_fields_cut)
{
	struct seen s = scan_str(
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"r\\u00e9\\ud83d\\ude00\\n\"}}\n", 0);
	char big[600];
	int n;

	CHECK(s.n == 1 && !strcmp(s.m[0].tool, "r\xc3\xa9\xf0\x9f\x98\x80\n"));
	memset(big, 'x', 300);
	big[300] = 0;
	{
		char line[800];

		/* An id too long is kept cut, and said so. */
		n = snprintf(line, sizeof(line),
			     "{\"jsonrpc\":\"2.0\",\"id\":\"%s\",\"method\":\"ping\"}\n",
			     big);
		s = scan(line, n, 7);
		CHECK(s.n == 1 && s.m[0].id_cut && strlen(s.m[0].id) <= RPC_ID_MAX);
		/* A method too long is none we know: no message. */
		n = snprintf(line, sizeof(line),
			     "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\"}\n",
			     big);
		s = scan(line, n, 0);
		CHECK(s.n == 0);
	}
}

UNIT_TEST(what_a_json_parser_reads)
{
	/* A NUL in a key or name is not the name without it. */
	struct seen s = scan_str("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
				 "\"params\":{\"name\":\"evil\",\"name\\u0000\":\"benign\"}}\n", 0);

	CHECK(s.n == 1 && !strcmp(s.m[0].tool, "evil"));
	s = scan_str("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
		     "\"params\":{\"name\":\"a\\u0000b\"}}\n", 0);
	CHECK(s.n == 1 && !strcmp(s.m[0].tool, ""));
	/* "error": null is no error; Python's NaN and Infinity are read. */
	s = scan_str("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"x\":NaN,\"y\":-Infinity,"
		     "\"z\":-0.5e+3},\"error\":null}\n", 0);
	CHECK(s.n == 1 && s.m[0].kind == RPC_RESPONSE && !s.m[0].error);
	/* A cut id is the same prefix whatever the chunks. */
	{
		char line[300], id[200];
		struct seen a, b;

		memset(id, 'q', 150);
		id[150] = 0;
		snprintf(line, sizeof(line),
			 "{\"jsonrpc\":\"2.0\",\"id\":\"%s\",\"method\":\"ping\"}\n", id);
		a = scan_str(line, 0);
		b = scan_str(line, 1);
		CHECK(a.n == 1 && b.n == 1 && a.m[0].id_cut &&
		      strlen(a.m[0].id) == RPC_ID_MAX && !strcmp(a.m[0].id, b.m[0].id));
	}
}

UNIT_TEST(huge_and_endless_lines)
{
	/* Megabytes of arguments: hashed as they pass, nothing kept. */
	size_t n = 8 << 20, i, off = 0;
	char *line = malloc(n + 200), *args;
	unsigned char want[SHA256_DIGEST_SIZE];
	struct seen s;

	off = sprintf(line, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{\"name\":\"w\",\"arguments\":");
	args = line + off;
	off += sprintf(line + off, "{\"d\":\"");
	for (i = 0; i < n; i++)
		line[off++] = 'a' + i % 26;
	off += sprintf(line + off, "\"}");
	line[off] = 0;
	sha_of(args, want);
	off += sprintf(line + off, "}}\n");
	s = scan(line, off, 65536);
	CHECK(s.n == 1 && s.m[0].has_arguments &&
	      !memcmp(s.m[0].arguments_sha256, want, sizeof(want)) &&
	      s.m[0].bytes == off);
	/* No newline ever: nothing reported, and a later line is read. */
	s = scan(line, off - 1, 4096);
	CHECK(s.n == 0);
	/* Nesting past the limit: no message, the next line one. */
	off = 0;
	for (i = 0; i < 100000; i++)
		line[off++] = '[';
	off += sprintf(line + off, "\n{\"jsonrpc\":\"2.0\",\"method\":\"m\"}\n");
	s = scan(line, off, 333);
	CHECK(s.n == 1 && !strcmp(s.m[0].method, "m"));
	free(line);
}

UNIT_TEST(random_bytes_never_crash)
{
	static const char alpha[] = "{}[]\":,\\u0aZ9 \n\"jsonrpc2.0idmethod";
	unsigned int seed = 7;
	char buf[512];
	size_t i, k;

	/* The fuzzer's job too (tests/fuzz): here, a quick sweep. */
	for (i = 0; i < 20000; i++) {
		size_t n = rand_r(&seed) % sizeof(buf);

		for (k = 0; k < n; k++)
			buf[k] = alpha[rand_r(&seed) % (sizeof(alpha) - 1)];
		scan(buf, n, 1 + rand_r(&seed) % 17);
	}
	CHECK(1);
}

/* The arguments a scan keeps (mcp.arguments "full"), of its last call. */
struct kept {
	bool has;
	char text[MW_ARGS_TEXT_MAX + 1];
	size_t len;
	unsigned int flags;
	unsigned char sha[SHA256_DIGEST_SIZE];
};

static void on_kept(void *arg, const struct rpc_msg *m)
{
	struct kept *k = arg;

	if (!m->args)
		return;
	k->has = true;
	memcpy(k->text, m->args, m->args_len);
	k->text[m->args_len] = '\0';
	k->len = m->args_len;
	k->flags = m->args_flags;
	memcpy(k->sha, m->arguments_sha256, sizeof(k->sha));
}

static struct kept *keep(const char *text, size_t chunk, bool on)
{
	struct rpc_scanner *sc = malloc(sizeof(*sc));
	struct kept *k = calloc(1, sizeof(*k));
	size_t off, n, len = strlen(text);

	rpc_scanner_init(sc, on_kept, k);
	sc->keep_args = on;
	for (off = 0; off < len; off += n) {
		n = chunk && len - off > chunk ? chunk : len - off;
		rpc_feed(sc, text + off, n);
	}
	free(sc);
	return k;
}

/* A tools/call line whose arguments are @args. */
static char *call_line(const char *args)
{
	static const char head[] = "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"write_file\",\"arguments\":";
	char *line = malloc(sizeof(head) + strlen(args) + 8);

	sprintf(line, "%s%s}}\n", head, args);
	return line;
}

UNIT_TEST(arguments_kept_as_sent)
{
	static const char args[] = "{\"path\": \"/tmp/a b\",\"n\":[1,-2.5e3,true,null,{}],\"s\":\"\\u00e9\\n\"}";
	unsigned char sha[SHA256_DIGEST_SIZE];
	char *line = call_line(args);
	size_t chunks[] = { 0, 1, 7, 64 };
	struct kept *k;

	sha_of(args, sha);
	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		k = keep(line, chunks[i], true);
		CHECK(k->has);
		CHECK_STR(k->text, args);
		CHECK(k->flags == 0);
		CHECK(!memcmp(k->sha, sha, sizeof(sha)));
		free(k);
	}
	k = keep(line, 0, false);
	CHECK(!k->has);		/* not asked: nothing kept */
	free(k);
	free(line);
}

/* Each string cut short is still a JSON string, cut where a character starts. */
UNIT_TEST(long_strings_cut_at_a_character)
{
	static const char *units[] = { "a", "\xc3\xa9", "\xf0\x9f\x98\x80",
				       "\\u00e9", "\\\"", "\\ud83d\\ude00" };
	char args[4096], *line;
	struct kept *k;
	size_t u, i, off;

	for (u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
		off = sprintf(args, "{\"path\":\"/x\",\"content\":\"");
		for (i = 0; i < 300; i++)
			off += sprintf(args + off, "%s", units[u]);
		sprintf(args + off, "\",\"mode\":1}");
		line = call_line(args);
		for (size_t chunk = 0; chunk < 8; chunk += 3) {
			k = keep(line, chunk, true);
			CHECK(k->has && (k->flags & MW_ARGS_CUT));
			CHECK(k->len <= 35 + MW_ARGS_STR_MAX + strlen(units[u]));
			CHECK(!strncmp(k->text, "{\"path\":\"/x\",\"content\":\"",
				       24));
			CHECK(k->len > 12 && !strcmp(k->text + k->len - 11,
						     "\",\"mode\":1}"));
			/* Whole units only: the content is a run of them. */
			off = k->len - 11 - 24;
			CHECK(off % strlen(units[u]) == 0);
			CHECK(off >= MW_ARGS_STR_MAX - 2 * strlen(units[u]) - 2);
			free(k);
		}
		free(line);
	}
}

/* Keys are kept whole, in objects at any depth; values beside them are cut. */
UNIT_TEST(keys_are_never_cut)
{
	char key[400], val[400], args[1400], want[1400], *line;
	struct kept *k;

	memset(key, 'k', 300);
	strcpy(key + 300, "_token");
	memset(val, 'v', 300);
	val[300] = '\0';
	snprintf(args, sizeof(args), "[1,{\"a\":[\"%s\"],\"%s\":\"%s\"}]", val,
		 key, val);
	line = call_line(args);
	k = keep(line, 5, true);
	CHECK(k->has && (k->flags & MW_ARGS_CUT));
	snprintf(want, sizeof(want), "\"%s\":\"", key);
	CHECK(strstr(k->text, want) != NULL);
	CHECK(k->len < strlen(args) - 2 * 300 + 2 * MW_ARGS_STR_MAX);
	free(k);
	free(line);
}

UNIT_TEST(arguments_past_the_slot_are_kept_as_none)
{
	size_t n = 2 * MW_ARGS_TEXT_MAX / 100, i, off = 0;
	char *args = malloc(n * 100 + 16), *line;
	struct kept *k;

	args[off++] = '[';
	for (i = 0; i < n; i++)
		off += sprintf(args + off, "%s\"%096zu\"", i ? "," : "", i);
	strcpy(args + off, "]");
	line = call_line(args);
	k = keep(line, 4096, true);
	CHECK(k->has && (k->flags & MW_ARGS_OVER) && k->len == 0);
	free(k);
	free(line);
	free(args);
}

UNIT_MAIN("jsonrpc")
