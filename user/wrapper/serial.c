// SPDX-License-Identifier: GPL-2.0-only
#include <stdlib.h>
#include <string.h>
#include "wrapper/serial.h"

bool serial_busy(const struct serial *s)
{
	return s->n || s->out;
}

bool serial_hold(struct serial *s, const struct rpc_msg *m, const char *b,
		 size_t n)
{
	struct serial_call *c;

	if (s->n == SERIAL_HELD_MAX || s->bytes + n > SERIAL_BYTES_MAX)
		return false;
	c = &s->q[(s->head + s->n) % SERIAL_HELD_MAX];
	c->bytes = malloc(n);
	if (!c->bytes)
		return false;
	memcpy(c->bytes, b, n);
	c->n = n;
	c->m = *m;
	c->args = NULL;
	if (m->args && m->args_len && !(c->args = malloc(m->args_len))) {
		free(c->bytes);
		return false;
	}
	if (c->args) {
		memcpy(c->args, m->args, m->args_len);
		c->m.args = c->args;
	} else if (m->args) {
		c->m.args = "";		/* none kept: MW_ARGS_OVER says why */
	}
	s->n++;
	s->bytes += n;
	return true;
}

bool serial_cancel(struct serial *s, const char *id, bool is_str)
{
	unsigned int i, j;
	struct serial_call *c;

	for (i = 0; i < s->n; i++) {
		c = &s->q[(s->head + i) % SERIAL_HELD_MAX];
		if (c->m.id_is_str != is_str || strcmp(c->m.id, id))
			continue;
		s->bytes -= c->n;
		free(c->bytes);
		free(c->args);
		/* The younger ones move up a place: the order stays. */
		for (j = i; j + 1 < s->n; j++)
			s->q[(s->head + j) % SERIAL_HELD_MAX] =
				s->q[(s->head + j + 1) % SERIAL_HELD_MAX];
		s->n--;
		return true;
	}
	return false;
}

bool serial_next(struct serial *s, struct rpc_msg *m)
{
	struct serial_call *c;

	if (!s->n || s->out)
		return false;
	c = &s->q[s->head];
	*m = c->m;
	free(s->out_args);
	s->out_args = c->args;
	s->out = c->bytes;
	s->out_head = 0;
	s->out_len = c->n;
	s->bytes -= c->n;
	s->head = (s->head + 1) % SERIAL_HELD_MAX;
	s->n--;
	return true;
}

const char *serial_out(const struct serial *s, size_t *n)
{
	if (!s->out)
		return NULL;
	*n = s->out_len - s->out_head;
	return s->out + s->out_head;
}

void serial_wrote(struct serial *s, size_t n)
{
	s->out_head += n;
	if (s->out_head < s->out_len)
		return;
	free(s->out);
	s->out = NULL;
	s->out_head = s->out_len = 0;
}

void serial_clear(struct serial *s)
{
	while (s->n) {
		free(s->q[s->head].bytes);
		free(s->q[s->head].args);
		s->head = (s->head + 1) % SERIAL_HELD_MAX;
		s->n--;
	}
	free(s->out);
	free(s->out_args);
	memset(s, 0, sizeof(*s));
}
