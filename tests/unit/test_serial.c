// SPDX-License-Identifier: GPL-2.0-only
/* The queue of tool calls that wait their turn (mcp.serialize_calls). */
#include <stdlib.h>
#include "wrapper/serial.h"
#include "unit.h"

static struct serial s;

static struct rpc_msg call(const char *id, bool is_str)
{
	struct rpc_msg m = { .kind = RPC_REQUEST, .id_is_str = is_str };

	strcpy(m.method, "tools/call");
	strcpy(m.id, id);
	return m;
}

static void hold(int *unit_failed, const char *id, bool is_str,
		 const char *line)
{
	struct rpc_msg m = call(id, is_str);

	CHECK(serial_hold(&s, &m, line, strlen(line)));
}

/* Out in the order they came, one at a time, each once written. */
UNIT_TEST(serial_order_and_one_at_a_time)
{
	struct rpc_msg m;
	const char *b;
	size_t n;

	memset(&s, 0, sizeof(s));
	CHECK(!serial_busy(&s) && !serial_next(&s, &m));
	hold(unit_failed, "1", false, "{\"id\":1}\n");
	hold(unit_failed, "2", false, "{\"id\":2}\n");
	CHECK(serial_busy(&s));
	CHECK(serial_next(&s, &m) && !strcmp(m.id, "1"));
	CHECK(!serial_next(&s, &m));	/* the first is not written yet */
	b = serial_out(&s, &n);
	CHECK(b && n == 9 && !memcmp(b, "{\"id\":1}\n", 9));
	serial_wrote(&s, 4);
	b = serial_out(&s, &n);
	CHECK(b && n == 5 && !memcmp(b, "\":1}\n", 5));
	serial_wrote(&s, 5);
	CHECK(!serial_out(&s, &n));
	CHECK(serial_next(&s, &m) && !strcmp(m.id, "2"));
	serial_wrote(&s, 9);
	CHECK(!serial_busy(&s) && s.bytes == 0);
}

/* A cancel drops the held call of that id (a string id is not a number). */
UNIT_TEST(serial_cancel_drops_by_id)
{
	struct rpc_msg m;

	memset(&s, 0, sizeof(s));
	hold(unit_failed, "7", false, "a\n");
	hold(unit_failed, "7", true, "b\n");
	hold(unit_failed, "8", false, "c\n");
	CHECK(!serial_cancel(&s, "9", false));
	CHECK(serial_cancel(&s, "7", true));
	CHECK(!serial_cancel(&s, "7", true));
	CHECK(serial_next(&s, &m) && !strcmp(m.id, "7") && !m.id_is_str);
	serial_wrote(&s, 2);
	CHECK(serial_next(&s, &m) && !strcmp(m.id, "8"));
	serial_wrote(&s, 2);
	CHECK(!serial_busy(&s));
}

/* Bounded by count and bytes. */
UNIT_TEST(serial_bounds)
{
	static char big[SERIAL_BYTES_MAX];
	struct rpc_msg m = call("1", false);
	int i;

	memset(&s, 0, sizeof(s));
	for (i = 0; i < SERIAL_HELD_MAX; i++)
		CHECK(serial_hold(&s, &m, "x\n", 2));
	CHECK(!serial_hold(&s, &m, "x\n", 2));
	serial_clear(&s);
	CHECK(!serial_busy(&s));
	memset(big, 'x', sizeof(big));
	CHECK(serial_hold(&s, &m, big, sizeof(big) - 1));
	CHECK(!serial_hold(&s, &m, "xy", 2));
	CHECK(serial_hold(&s, &m, "x", 1));
	CHECK(!serial_hold(&s, &m, "x", 1));
	serial_clear(&s);
}

UNIT_MAIN("serial")
