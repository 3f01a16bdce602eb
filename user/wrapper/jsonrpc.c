// SPDX-License-Identifier: GPL-2.0-only
/*
 * The streaming JSON-RPC scanner (jsonrpc.h): one byte at a time, a state
 * per open object or array, the keys of the path down to the fields of
 * interest, and nothing else kept. It checks JSON's structure (brackets,
 * colons, commas, string escapes, control characters) so that what it
 * reports is what a JSON parser would have read; numbers and literals it
 * takes as runs of their characters.
 */
#include <stddef.h>
#include <string.h>
#include "wrapper/jsonrpc.h"

/* Where a level is: an object's or an array's. */
enum {
	O_KEY_OR_END,	/* after '{' */
	O_KEY,		/* after ',' */
	O_COLON,
	O_VALUE,
	O_NEXT,		/* after a value: ',' or '}' */
	A_VALUE_OR_END,	/* after '[' */
	A_VALUE,	/* after ',' */
	A_NEXT,
};

/* The field the value at hand is. */
enum {
	C_NONE, C_JSONRPC, C_ID, C_METHOD, C_TOOL, C_CLIENT, C_CLIENT_VERSION,
	C_REQUEST_ID, C_IS_ERROR, C_ERROR, C_RESULT, C_ARGUMENTS,
};

void rpc_scanner_init(struct rpc_scanner *s,
		      void (*on_msg)(void *arg, const struct rpc_msg *m),
		      void *arg)
{
	memset(s, 0, sizeof(*s));
	s->on_msg = on_msg;
	s->arg = arg;
}

static void line_reset(struct rpc_scanner *s)
{
	void (*on_msg)(void *, const struct rpc_msg *) = s->on_msg;
	void *arg = s->arg;

	memset(s, 0, offsetof(struct rpc_scanner, stack));
	s->on_msg = on_msg;
	s->arg = arg;
}

static bool key_is(const struct rpc_scanner *s, int level, const char *k)
{
	return !s->key_cut[level] && !strcmp(s->key[level], k);
}

/* Which field a value starting here is: by its path of object keys. */
static int field_here(const struct rpc_scanner *s)
{
	int d = s->depth;

	if (d < 1 || d > 3)
		return C_NONE;
	for (int i = 0; i < d; i++)
		if (s->stack[i] != '{')
			return C_NONE;
	if (d == 1) {
		if (key_is(s, 0, "jsonrpc"))
			return C_JSONRPC;
		if (key_is(s, 0, "id"))
			return C_ID;
		if (key_is(s, 0, "method"))
			return C_METHOD;
		if (key_is(s, 0, "error"))
			return C_ERROR;
		if (key_is(s, 0, "result"))
			return C_RESULT;
		return C_NONE;
	}
	if (d == 2 && key_is(s, 0, "params")) {
		if (key_is(s, 1, "name"))
			return C_TOOL;
		if (key_is(s, 1, "arguments"))
			return C_ARGUMENTS;
		if (key_is(s, 1, "requestId"))
			return C_REQUEST_ID;
		return C_NONE;
	}
	if (d == 2 && key_is(s, 0, "result") && key_is(s, 1, "isError"))
		return C_IS_ERROR;
	if (d == 3 && key_is(s, 0, "params") && key_is(s, 1, "clientInfo")) {
		if (key_is(s, 2, "name"))
			return C_CLIENT;
		if (key_is(s, 2, "version"))
			return C_CLIENT_VERSION;
	}
	return C_NONE;
}

static void tok_add(struct rpc_scanner *s, const char *b, size_t n)
{
	size_t max = s->token_is_key ? RPC_KEY_MAX :
		     s->capture == C_ID || s->capture == C_REQUEST_ID ?
		     RPC_ID_MAX : RPC_STR_MAX;

	if (!s->token_is_key && s->capture == C_NONE)
		return;
	if (s->tok_cut)
		return;		/* a prefix, whatever the chunks */
	if (s->tok_len + n > max) {
		n = max - s->tok_len;
		s->tok_cut = true;
	}
	memcpy(s->tok + s->tok_len, b, n);
	s->tok_len += n;
	s->tok[s->tok_len] = '\0';
}

static void utf8_add(struct rpc_scanner *s, unsigned int cp)
{
	char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = 0xc0 | cp >> 6;
		b[1] = 0x80 | (cp & 0x3f);
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = 0xe0 | cp >> 12;
		b[1] = 0x80 | (cp >> 6 & 0x3f);
		b[2] = 0x80 | (cp & 0x3f);
		n = 3;
	} else {
		b[0] = 0xf0 | cp >> 18;
		b[1] = 0x80 | (cp >> 12 & 0x3f);
		b[2] = 0x80 | (cp >> 6 & 0x3f);
		b[3] = 0x80 | (cp & 0x3f);
		n = 4;
	}
	tok_add(s, b, n);
}

/* A name cut is none we know: kept empty. An id cut is kept, cut. */
static void copy_field(char *dst, size_t size, const struct rpc_scanner *s)
{
	size_t n = s->tok_len < size - 1 ? s->tok_len : size - 1;

	if (s->tok_cut && s->capture != C_ID && s->capture != C_REQUEST_ID)
		n = 0;

	memcpy(dst, s->tok, n);
	dst[n] = '\0';
}

/* A value at this level ended (a string, a token, a closed container). */
static void value_done(struct rpc_scanner *s, bool is_str)
{
	struct rpc_msg *m = &s->m;

	switch (s->capture) {
	case C_JSONRPC:
		s->has_jsonrpc = is_str && !s->tok_cut && !strcmp(s->tok, "2.0");
		break;
	case C_ID:
		s->has_id = is_str || strcmp(s->tok, "null");
		copy_field(m->id, sizeof(m->id), s);
		m->id_is_str = is_str;
		m->id_cut = s->tok_cut;
		break;
	case C_METHOD:
		if (is_str)
			copy_field(m->method, sizeof(m->method), s);
		break;
	case C_TOOL:
		if (is_str)
			copy_field(m->tool, sizeof(m->tool), s);
		break;
	case C_CLIENT:
		if (is_str)
			copy_field(m->client, sizeof(m->client), s);
		break;
	case C_CLIENT_VERSION:
		if (is_str)
			copy_field(m->client_version, sizeof(m->client_version), s);
		break;
	case C_REQUEST_ID:
		copy_field(m->request_id, sizeof(m->request_id), s);
		m->request_id_is_str = is_str;
		break;
	case C_IS_ERROR:
		m->is_error = !is_str && !strcmp(s->tok, "true");
		break;
	}
	s->capture = C_NONE;
	s->tok_len = 0;
	s->tok[0] = '\0';
	s->tok_cut = false;
	if (s->depth == 0)
		s->done = true;
	else
		s->state[s->depth] = s->stack[s->depth - 1] == '{' ? O_NEXT : A_NEXT;
}

/* A byte outside strings: the level it opens or closes, a key's place. */
static void cap_structure(struct rpc_capture *k, unsigned char c)
{
	switch (c) {
	case '"':
		k->in_str = true;
		k->str = 0;
		k->is_key = k->expect_key;
		k->expect_key = false;
		break;
	case '{':
	case '[':
		/* The scanner bounds the depth (RPC_DEPTH_MAX). */
		if (k->depth < RPC_DEPTH_MAX) {
			if (c == '{')
				k->obj[k->depth / 8] |= 1 << (k->depth % 8);
			else
				k->obj[k->depth / 8] &= ~(1 << (k->depth % 8));
			k->depth++;
		}
		k->expect_key = c == '{';
		break;
	case '}':
	case ']':
		if (k->depth)
			k->depth--;
		k->expect_key = false;
		break;
	case ',':
		k->expect_key = k->depth &&
			(k->obj[(k->depth - 1) / 8] >> ((k->depth - 1) % 8) & 1);
		break;
	case ':':
		k->expect_key = false;
		break;
	}
}

/* @n bytes of the arguments' text, into the capture: a value's string cut. */
static void cap_take(struct rpc_capture *k, const char *b, size_t n)
{
	size_t i;
	unsigned char c;

	for (i = 0; i < n && !(k->flags & MW_ARGS_OVER); i++) {
		c = b[i];
		if (!k->in_str) {
			cap_structure(k, c);
		} else if (k->uni) {
			/* The scanner checked the digits: hex. */
			k->cp = k->cp << 4 | (c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
			if (!--k->uni)
				k->hi = k->cp >= 0xd800 && k->cp <= 0xdbff;
		} else if (k->esc) {
			k->esc = false;
			k->uni = c == 'u' ? 4 : 0;
			k->cp = 0;
		} else if (c == '"') {
			k->in_str = k->skip = false;
		} else if ((c & 0xc0) != 0x80) {
			/* Cut only where a character starts, not in a pair. */
			if (k->str >= MW_ARGS_STR_MAX && !k->hi && !k->is_key)
				k->skip = true;
			k->hi = false;
			k->esc = c == '\\';
		}
		if (k->skip && k->in_str) {
			k->flags |= MW_ARGS_CUT;
			continue;
		}
		if (k->in_str)
			k->str++;
		if (k->len == sizeof(k->text)) {
			k->flags |= MW_ARGS_OVER;
			break;
		}
		k->text[k->len++] = c;
	}
}

/* @buf[hash_from, @end) of the arguments' text. */
static void hash_take(struct rpc_scanner *s, const char *buf, size_t end)
{
	sha256_update(&s->sha, end - s->hash_from, (const uint8_t *)buf + s->hash_from);
	if (s->cap.on)
		cap_take(&s->cap, buf + s->hash_from, end - s->hash_from);
}

/* The hashed value ends before @end (exclusive) of @buf. */
static void hash_end(struct rpc_scanner *s, const char *buf, size_t end)
{
	hash_take(s, buf, end);
	sha256_digest(&s->sha, SHA256_DIGEST_SIZE, s->m.arguments_sha256);
	s->m.has_arguments = true;
	s->hashing = false;
	if (s->cap.on) {
		s->m.args = s->cap.text;
		s->m.args_len = s->cap.flags & MW_ARGS_OVER ? 0 : s->cap.len;
		s->m.args_flags = s->cap.flags;
	}
}

static void end_line(struct rpc_scanner *s, size_t line_bytes)
{
	struct rpc_msg *m = &s->m;
	bool ok = !s->broken && s->done && s->has_jsonrpc;

	m->bytes = line_bytes;
	if (ok && m->method[0])
		m->kind = s->has_id ? RPC_REQUEST : RPC_NOTIFICATION;
	else if (ok && s->has_id && (s->has_result || m->error))
		m->kind = RPC_RESPONSE;
	else
		ok = false;
	if (ok && s->on_msg)
		s->on_msg(s->arg, m);
	line_reset(s);
}

static bool token_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '-' ||
	       c == '+' || c == '.' || c == 'E' || c == 'N' || c == 'I';
}

/* A number's grammar, a character at a time (RFC 8259). */
enum { N_START, N_MINUS, N_ZERO, N_INT, N_DOT, N_FRAC, N_E, N_ESIGN, N_EXP,
       N_WORD, N_BAD };

static unsigned char num_step(unsigned char st, char c)
{
	bool digit = c >= '0' && c <= '9';

	switch (st) {
	case N_START:
		return c == '-' ? N_MINUS : c == '0' ? N_ZERO :
		       digit ? N_INT : N_WORD;
	case N_MINUS:
		return c == '0' ? N_ZERO : digit ? N_INT : N_WORD;
	case N_ZERO:
		return c == '.' ? N_DOT : c == 'e' || c == 'E' ? N_E : N_BAD;
	case N_INT:
		return digit ? N_INT : c == '.' ? N_DOT :
		       c == 'e' || c == 'E' ? N_E : N_BAD;
	case N_DOT:
	case N_FRAC:
		return digit ? N_FRAC : st == N_FRAC && (c == 'e' || c == 'E') ?
		       N_E : N_BAD;
	case N_E:
		return c == '+' || c == '-' ? N_ESIGN : digit ? N_EXP : N_BAD;
	case N_ESIGN:
	case N_EXP:
		return digit ? N_EXP : N_BAD;
	}
	return st;	/* N_WORD, N_BAD: decided at the end */
}

/*
 * The token ended: a number, or a literal as JSON has them, or the NaN
 * and Infinity that Python's json writes by default (a server's response
 * may hold them). Anything else: the line is no JSON.
 */
static bool token_valid(const struct rpc_scanner *s)
{
	static const char *const words[] = { "true", "false", "null", "NaN",
					     "Infinity", "-Infinity" };
	size_t k;

	if (s->num == N_ZERO || s->num == N_INT || s->num == N_FRAC ||
	    s->num == N_EXP)
		return true;
	if (s->num != N_WORD || s->lit_len >= sizeof(s->lit))
		return false;
	for (k = 0; k < sizeof(words) / sizeof(words[0]); k++)
		if (strlen(words[k]) == s->lit_len &&
		    !memcmp(s->lit, words[k], s->lit_len))
			return true;
	return false;
}

static void token_add(struct rpc_scanner *s, char c)
{
	s->num = num_step(s->num, c);
	if (s->lit_len < sizeof(s->lit))
		s->lit[s->lit_len] = c;
	s->lit_len++;
	tok_add(s, &c, 1);
}

/* An escape's next character @c (after the backslash, or a \u digit). */
static void escape(struct rpc_scanner *s, char c)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *p;
	int v;

	if (s->uni) {
		v = c >= '0' && c <= '9' ? c - '0' :
		    c >= 'a' && c <= 'f' ? c - 'a' + 10 :
		    c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (v < 0) {
			s->broken = true;
			return;
		}
		s->cp = s->cp << 4 | v;
		if (--s->uni)
			return;
		s->esc = false;
		if (s->cp >= 0xd800 && s->cp < 0xdc00) {
			if (s->hi)
				utf8_add(s, 0xfffd);
			s->hi = s->cp;	/* its low half should follow */
			return;
		}
		if (s->cp >= 0xdc00 && s->cp < 0xe000 && s->hi)
			s->cp = 0x10000 + ((s->hi - 0xd800) << 10) + (s->cp - 0xdc00);
		else if (s->cp >= 0xdc00 && s->cp < 0xe000)
			s->cp = 0xfffd;
		else if (s->hi)
			utf8_add(s, 0xfffd);
		s->hi = 0;
		/* A NUL would end the C string early: "name\u0000" is not "name". */
		if (!s->cp)
			s->tok_cut = true;
		else
			utf8_add(s, s->cp);
		return;
	}
	if (c == 'u') {
		s->uni = 4;
		s->cp = 0;
		return;
	}
	p = c ? strchr(from, c) : NULL;
	if (!p) {
		s->broken = true;
		return;
	}
	s->esc = false;
	if (s->hi) {
		utf8_add(s, 0xfffd);
		s->hi = 0;
	}
	tok_add(s, &to[p - from], 1);
}

static void push(struct rpc_scanner *s, char c)
{
	if (s->depth >= RPC_DEPTH_MAX) {
		s->broken = true;
		return;
	}
	s->stack[s->depth++] = c;
	s->state[s->depth] = c == '{' ? O_KEY_OR_END : A_VALUE_OR_END;
	if (s->depth <= 4)
		s->key[s->depth - 1][0] = '\0';
}

/* The first character @c of a value, at @i of the chunk. */
static void value_start(struct rpc_scanner *s, size_t i, char c)
{
	s->capture = field_here(s);
	if (s->capture == C_ERROR && c == '{')
		s->m.error = true;
	else if (s->capture == C_RESULT)
		s->has_result = true;
	else if (s->capture == C_ARGUMENTS) {
		sha256_init(&s->sha);
		memset(&s->cap, 0, offsetof(struct rpc_capture, text));
		s->cap.on = s->keep_args;
		s->hashing = true;
		s->hash_depth = s->depth;
		s->hash_from = i;
	}
	if (c == '{' || c == '[') {
		if (s->capture != C_ARGUMENTS)
			s->capture = C_NONE;
		push(s, c);
	} else if (c == '"') {
		s->in_str = true;
		s->token_is_key = false;
	} else if (token_char(c)) {
		s->in_token = true;
		s->num = N_START;
		s->lit_len = 0;
		token_add(s, c);
	} else {
		s->broken = true;
	}
}

/* A container closes with @c at @i. */
static void pop(struct rpc_scanner *s, const char *buf, size_t i, char c)
{
	if (s->stack[s->depth - 1] != (c == '}' ? '{' : '[')) {
		s->broken = true;
		return;
	}
	s->depth--;
	if (s->hashing && s->depth == s->hash_depth)
		hash_end(s, buf, i + 1);
	s->capture = C_NONE;
	value_done(s, false);
}

static void structural(struct rpc_scanner *s, const char *buf, size_t i,
		       char c)
{
	unsigned char st = s->state[s->depth];

	if (s->done) {
		s->broken = true;	/* after the message: not JSON */
		return;
	}
	if (s->depth == 0) {
		if (c == '{')
			push(s, c);
		else
			s->broken = true;	/* a batch, a scalar: no message */
		return;
	}
	switch (st) {
	case O_KEY_OR_END:
	case O_KEY:
		if (c == '"') {
			s->in_str = true;
			s->token_is_key = true;
		} else if (c == '}' && st == O_KEY_OR_END) {
			pop(s, buf, i, c);
		} else {
			s->broken = true;
		}
		break;
	case O_COLON:
		if (c == ':')
			s->state[s->depth] = O_VALUE;
		else
			s->broken = true;
		break;
	case O_VALUE:
	case A_VALUE:
		value_start(s, i, c);
		break;
	case A_VALUE_OR_END:
		if (c == ']')
			pop(s, buf, i, c);
		else
			value_start(s, i, c);
		break;
	case O_NEXT:
	case A_NEXT:
		if (c == ',')
			s->state[s->depth] = st == O_NEXT ? O_KEY : A_VALUE;
		else if (c == (st == O_NEXT ? '}' : ']'))
			pop(s, buf, i, c);
		else
			s->broken = true;
		break;
	}
}

static void string_end(struct rpc_scanner *s, const char *buf, size_t i)
{
	int level = s->depth - 1;

	s->in_str = false;
	if (s->hi) {
		utf8_add(s, 0xfffd);
		s->hi = 0;
	}
	if (s->token_is_key) {
		if (level < 4) {
			memcpy(s->key[level], s->tok, s->tok_len + 1);
			s->key_cut[level] = s->tok_cut;
		}
		s->token_is_key = false;
		s->tok_len = 0;
		s->tok[0] = '\0';
		s->tok_cut = false;
		s->state[s->depth] = O_COLON;
		return;
	}
	if (s->hashing && s->depth == s->hash_depth)
		hash_end(s, buf, i + 1);
	value_done(s, true);
}

void rpc_feed(struct rpc_scanner *s, const char *buf, size_t n)
{
	size_t i, run;
	char c;

	for (i = 0; i < n; i++) {
		c = buf[i];
		s->bytes++;
		if (c == '\n') {
			if (s->in_token && !s->broken && !token_valid(s))
				s->broken = true;
			if (s->in_token && !s->broken) {
				s->in_token = false;
				if (s->hashing && s->depth == s->hash_depth)
					hash_end(s, buf, i);
				value_done(s, false);
			}
			if (s->hashing)		/* cut by the newline: no digest */
				s->broken = true;
			end_line(s, s->bytes);
			continue;
		}
		if (s->broken)
			continue;
		if (s->in_str) {
			if (s->esc) {
				escape(s, c);
			} else if (c == '\\') {
				s->esc = true;
			} else if (c == '"') {
				string_end(s, buf, i);
			} else if ((unsigned char)c < 0x20) {
				s->broken = true;
			} else {
				/* A run of plain bytes at once. */
				for (run = i + 1; run < n && buf[run] != '"' &&
				     buf[run] != '\\' && buf[run] != '\n' &&
				     (unsigned char)buf[run] >= 0x20; run++)
					;
				if (s->hi) {
					utf8_add(s, 0xfffd);
					s->hi = 0;
				}
				tok_add(s, buf + i, run - i);
				s->bytes += run - i - 1;
				i = run - 1;
			}
			continue;
		}
		if (s->in_token) {
			if (token_char(c)) {
				token_add(s, c);
				continue;
			}
			s->in_token = false;
			if (!token_valid(s)) {
				s->broken = true;
				continue;
			}
			if (s->hashing && s->depth == s->hash_depth)
				hash_end(s, buf, i);
			value_done(s, false);
		}
		if (c == ' ' || c == '\t' || c == '\r')
			continue;
		structural(s, buf, i, c);
	}
	if (s->hashing && !s->broken) {
		hash_take(s, buf, n);
		s->hash_from = 0;
	}
}
