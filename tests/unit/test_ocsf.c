// SPDX-License-Identifier: GPL-2.0-only
/*
 * Native events to OCSF 1.1 (ocsf.c): every native type maps to a class,
 * carries the base event's required attributes and its class's, with
 * activity and disposition values from the class definitions
 * (docs/outputs.md says where those lists come from).
 */
#include <stdlib.h>
#include <string.h>
#include "output/ocsf.h"
#include "unit.h"

static const struct ocsf_ctx ctx = { .hostname = "node1", .version = "9.9.9" };

#define PROC "\"process\":{\"pid\":100,\"tid\":101,\"ppid\":1,\"uid\":1000,\"gid\":1000," \
	     "\"comm\":\"curl\",\"start_time\":\"2025-11-26T09:59:59.5Z\",\"cgroup_id\":42," \
	     "\"exe\":\"/usr/bin/curl\",\"args\":[\"curl\",\"-s\",\"http://x\"]}," \
	     "\"mcp_server\":{\"profile\":\"fetch\",\"pid\":90,\"start_time\":\"2025-11-26T09:00:00Z\",\"source\":\"wrapper\"}"
#define TIME "\"time\":\"2025-11-26T10:00:00.123456789Z\""

static json_object *path(json_object *o, const char *p)
{
	char buf[128], *tok, *save;
	json_object *cur = o;

	snprintf(buf, sizeof(buf), "%s", p);
	for (tok = strtok_r(buf, ".", &save); tok; tok = strtok_r(NULL, ".", &save))
		if (!cur || !json_object_object_get_ex(cur, tok, &cur))
			return NULL;
	return cur;
}

static long long num(json_object *o, const char *p)
{
	json_object *v = path(o, p);

	return v && json_object_is_type(v, json_type_int) ?
	       json_object_get_int64(v) : -12345;
}

static const char *str(json_object *o, const char *p)
{
	json_object *v = path(o, p);

	return v && json_object_is_type(v, json_type_string) ?
	       json_object_get_string(v) : NULL;
}

/* The base event's required attributes (OCSF 1.1 base_event). */
static void check_base(int *unit_failed, json_object *o, int class_uid,
		       int activity)
{
	CHECK(num(o, "class_uid") == class_uid);
	CHECK(num(o, "activity_id") == activity);
	CHECK(num(o, "type_uid") == class_uid * 100LL + activity);
	CHECK(num(o, "category_uid") == class_uid / 1000);
	CHECK(num(o, "severity_id") >= 0 && num(o, "severity_id") <= 6);
	CHECK(num(o, "time") == 1764151200123LL);
	CHECK_STR(str(o, "metadata.version"), "1.1.0");
	CHECK_STR(str(o, "metadata.product.name"), "mcpwarden");
	CHECK_STR(str(o, "metadata.product.vendor_name"), "mcpwarden");
	CHECK_STR(str(o, "metadata.product.version"), "9.9.9");
}

/* System Activity classes: actor and device are required. */
static void check_actor(int *unit_failed, json_object *o)
{
	CHECK(num(o, "actor.process.pid") == 100);
	CHECK(num(o, "actor.process.tid") == 101);
	CHECK_STR(str(o, "actor.process.name"), "curl");
	CHECK_STR(str(o, "actor.process.cmd_line"), "curl -s http://x");
	CHECK_STR(str(o, "actor.process.file.path"), "/usr/bin/curl");
	CHECK_STR(str(o, "actor.process.user.uid"), "1000");
	CHECK(num(o, "actor.process.created_time") == 1764151199500LL);
	CHECK(num(o, "actor.process.parent_process.pid") == 1);
	CHECK_STR(str(o, "device.hostname"), "node1");
	CHECK(num(o, "device.type_id") == 0);
	CHECK_STR(str(o, "unmapped.mcp_server.profile"), "fetch");
	CHECK(num(o, "unmapped.mcp_server.pid") == 90);
}

static json_object *conv(const char *native)
{
	json_object *n = json_tokener_parse(native), *o;

	o = n ? ocsf_from_native(n, &ctx) : NULL;
	json_object_put(n);
	return o;
}

UNIT_TEST(time_ms)
{
	__s64 ms = 0;

	CHECK(!ocsf_time_ms("2025-11-26T10:00:00.123456789Z", &ms) &&
	      ms == 1764151200123LL);
	CHECK(!ocsf_time_ms("2025-11-26T10:00:00Z", &ms) && ms == 1764151200000LL);
	CHECK(!ocsf_time_ms("2025-11-26T10:00:00.5Z", &ms) && ms == 1764151200500LL);
	CHECK(ocsf_time_ms("2025-11-26 10:00:00Z", &ms));
	CHECK(ocsf_time_ms("2025-11-26T10:00:00+01:00", &ms));
	CHECK(ocsf_time_ms(NULL, &ms));
}

UNIT_TEST(process_exec_allowed)
{
	json_object *o = conv("{" TIME ",\"type\":\"process_exec\"," PROC
			      ",\"exec\":{\"dev_major\":8,\"dev_minor\":1,\"inode\":5,\"hook\":\"raw_tp/sched_process_exec\"},"
			      "\"action\":\"allow\",\"rule\":\"profiles.fetch.exec.default\"}");

	CHECK(o != NULL);
	check_base(unit_failed, o, 1007, 1);
	check_actor(unit_failed, o);
	CHECK(num(o, "category_uid") == 1);
	CHECK(num(o, "process.pid") == 100);
	CHECK_STR(str(o, "process.file.path"), "/usr/bin/curl");
	CHECK(num(o, "action_id") == 1);
	CHECK(num(o, "disposition_id") == 1);
	CHECK(num(o, "severity_id") == 1);
	CHECK_STR(str(o, "unmapped.rule"), "profiles.fetch.exec.default");
	CHECK(num(o, "unmapped.exec.inode") == 5);
	json_object_put(o);
}

UNIT_TEST(process_exec_denied)
{
	json_object *o = conv("{" TIME ",\"type\":\"process_exec\"," PROC
			      ",\"exec\":{\"path\":\"/usr/bin/nc\",\"hook\":\"lsm/bprm_check_security\"},"
			      "\"action\":\"deny\",\"rule\":\"profiles.fetch.exec.deny[0] (/usr/bin/nc)\"}");

	check_base(unit_failed, o, 1007, 1);
	CHECK_STR(str(o, "process.file.path"), "/usr/bin/nc");
	CHECK_STR(str(o, "process.file.name"), "nc");
	CHECK(num(o, "action_id") == 2);
	CHECK(num(o, "disposition_id") == 2);
	CHECK(num(o, "status_id") == 2);
	CHECK(num(o, "severity_id") == 3);
	CHECK_STR(str(o, "unmapped.action"), "deny");
	json_object_put(o);
	o = conv("{" TIME ",\"type\":\"process_exec\"," PROC ",\"action\":\"kill\"}");
	CHECK(num(o, "action_id") == 2 && num(o, "disposition_id") == 2);
	json_object_put(o);
	o = conv("{" TIME ",\"type\":\"process_exec\"," PROC ",\"action\":\"audit\"}");
	CHECK(num(o, "action_id") == 1 && num(o, "disposition_id") == 15);
	json_object_put(o);
}

UNIT_TEST(process_exit)
{
	json_object *o = conv("{" TIME ",\"type\":\"process_exit\"," PROC
			      ",\"exit\":{\"code\":3}}");

	check_base(unit_failed, o, 1007, 2);
	check_actor(unit_failed, o);
	CHECK(num(o, "exit_code") == 3);
	CHECK(path(o, "action_id") == NULL);
	json_object_put(o);
	o = conv("{" TIME ",\"type\":\"process_exit\"," PROC
		 ",\"exit\":{\"signal\":9,\"core_dumped\":false}}");
	CHECK(path(o, "exit_code") == NULL);
	CHECK(num(o, "unmapped.exit.signal") == 9);
	json_object_put(o);
}

UNIT_TEST(file_open_and_mmap)
{
	json_object *o = conv("{" TIME ",\"type\":\"file_open\"," PROC
			      ",\"file\":{\"path\":\"/usr/bin/nc\",\"inode\":7,\"hook\":\"fanotify/FAN_OPEN_PERM\"},"
			      "\"action\":\"deny\",\"rule\":\"r\"}");

	check_base(unit_failed, o, 1001, 14);
	check_actor(unit_failed, o);
	CHECK_STR(str(o, "file.path"), "/usr/bin/nc");
	CHECK_STR(str(o, "file.name"), "nc");
	CHECK(num(o, "file.type_id") == 1);
	CHECK(num(o, "disposition_id") == 2);
	json_object_put(o);
	o = conv("{" TIME ",\"type\":\"file_mmap\"," PROC
		 ",\"exec\":{\"path\":\"/usr/bin/nc\",\"hook\":\"lsm/mmap_file\"},\"action\":\"deny\"}");
	check_base(unit_failed, o, 1001, 99);
	CHECK_STR(str(o, "file.path"), "/usr/bin/nc");
	json_object_put(o);
}

UNIT_TEST(network_connect_denied_and_allowed)
{
	json_object *o = conv("{" TIME ",\"type\":\"network_connect\"," PROC
			      ",\"action\":\"deny\",\"network\":{\"daddr\":\"169.254.169.254\",\"dport\":80,"
			      "\"protocol\":\"tcp\",\"family\":\"ipv4\"},\"rule\":\"profiles.fetch.network.deny[0] (metadata)\"}");

	check_base(unit_failed, o, 4001, 5);
	check_actor(unit_failed, o);
	CHECK(num(o, "category_uid") == 4);
	CHECK_STR(str(o, "dst_endpoint.ip"), "169.254.169.254");
	CHECK(num(o, "dst_endpoint.port") == 80);
	CHECK_STR(str(o, "src_endpoint.hostname"), "node1");
	CHECK_STR(str(o, "connection_info.protocol_name"), "tcp");
	CHECK(num(o, "connection_info.protocol_num") == 6);
	CHECK(num(o, "connection_info.protocol_ver_id") == 4);
	CHECK(num(o, "connection_info.direction_id") == 2);
	CHECK(num(o, "action_id") == 2 && num(o, "disposition_id") == 2);
	json_object_put(o);
	/* A summary of repeats: OCSF's count and its period. */
	o = conv("{" TIME ",\"type\":\"network_connect\"," PROC
		 ",\"action\":\"deny\",\"network\":{\"daddr\":\"169.254.169.254\",\"dport\":80,"
		 "\"protocol\":\"tcp\",\"family\":\"ipv4\"},\"rule\":\"r\",\"count\":41,"
		 "\"first_time\":\"2025-11-26T10:00:00.5Z\",\"last_time\":\"2025-11-26T10:00:09Z\"}");
	CHECK(num(o, "count") == 41);
	CHECK(num(o, "start_time") == 1764151200500LL);
	CHECK(num(o, "end_time") == 1764151209000LL);
	CHECK(str(o, "unmapped.count") == NULL);
	json_object_put(o);
	o = conv("{" TIME ",\"type\":\"network_connect\"," PROC
		 ",\"action\":\"allow\",\"network\":{\"daddr\":\"::1\",\"dport\":443,"
		 "\"protocol\":\"tcp\",\"family\":\"ipv6\"}}");
	check_base(unit_failed, o, 4001, 1);
	CHECK(num(o, "connection_info.protocol_ver_id") == 6);
	json_object_put(o);
}

UNIT_TEST(network_send_and_socket)
{
	json_object *o = conv("{" TIME ",\"type\":\"network_send\"," PROC
			      ",\"action\":\"audit\",\"network\":{\"daddr\":\"10.0.0.1\",\"dport\":53,"
			      "\"protocol\":\"udp\",\"family\":\"ipv4\",\"form\":\"nat64\",\"checked\":\"10.0.0.1\"}}");

	check_base(unit_failed, o, 4001, 6);
	CHECK(num(o, "connection_info.protocol_num") == 17);
	CHECK_STR(str(o, "unmapped.network.form"), "nat64");
	CHECK(num(o, "disposition_id") == 15);
	json_object_put(o);
	o = conv("{" TIME ",\"type\":\"network_socket\"," PROC
		 ",\"action\":\"deny\",\"network\":{\"family\":\"packet\",\"socket_type\":\"raw\",\"protocol\":3}}");
	check_base(unit_failed, o, 4001, 99);
	CHECK(num(o, "connection_info.protocol_num") == 3);
	CHECK(num(o, "connection_info.protocol_ver_id") == 99);
	CHECK(path(o, "src_endpoint") != NULL);
	json_object_put(o);
}

UNIT_TEST(agent_events)
{
	json_object *o = conv("{" TIME ",\"type\":\"agent_start\",\"agent\":{\"version\":\"9.9.9\",\"pid\":5},"
			      "\"policy\":{\"source\":\"built-in\"}}");

	check_base(unit_failed, o, 6002, 3);
	CHECK(num(o, "category_uid") == 6);
	CHECK_STR(str(o, "app.name"), "mcpwarden");
	CHECK(num(o, "unmapped.agent.pid") == 5);
	json_object_put(o);
	o = conv("{" TIME ",\"type\":\"agent_stop\",\"agent\":{\"signal\":\"Terminated\"}}");
	check_base(unit_failed, o, 6002, 4);
	json_object_put(o);
	o = conv("{" TIME ",\"type\":\"policy_load\",\"generation\":3,\"policy\":{}}");
	check_base(unit_failed, o, 6002, 8);
	CHECK(num(o, "unmapped.generation") == 3);
	json_object_put(o);
}

UNIT_TEST(unclassed_events_are_base_events)
{
	json_object *o = conv("{" TIME ",\"type\":\"events_lost\",\"lost\":{\"count\":4,\"total\":9,"
			      "\"reason\":\"sink_full\",\"sink\":\"unix:/x\"}}");

	check_base(unit_failed, o, 0, 99);
	CHECK_STR(str(o, "message"), "events_lost: 4 events lost (sink_full, sink unix:/x), 9 since start");
	CHECK_STR(str(o, "unmapped.lost.reason"), "sink_full");
	CHECK(num(o, "severity_id") == 3);
	json_object_put(o);
	o = conv("{" TIME ",\"type\":\"policy_error\",\"error\":\"bad\"}");
	check_base(unit_failed, o, 0, 99);
	CHECK_STR(str(o, "message"), "policy_error: bad");
	json_object_put(o);
	o = conv("{" TIME ",\"type\":\"policy_warning\",\"message\":\"never matches\"}");
	check_base(unit_failed, o, 0, 99);
	json_object_put(o);
	o = conv("{" TIME ",\"type\":\"agent_tamper\",\"tamper\":{\"what\":\"unpin\","
		 "\"object\":\"link_exec\",\"repaired\":true}}");
	check_base(unit_failed, o, 0, 99);
	CHECK_STR(str(o, "message"), "agent_tamper: pinned link_exec removed while the agent ran; pinned again");
	CHECK(num(o, "severity_id") == 4);
	json_object_put(o);
	CHECK(conv("{\"time\":\"x\"}") == NULL);
}

/* A tool call: API Activity, the client the actor, the tool the resource. */
UNIT_TEST(tool_calls_are_api_activity)
{
	static const char *const call =
		"\"mcp_server\":{\"profile\":\"fetch\",\"pid\":90},"
		"\"mcp\":{\"call\":{\"id\":7,\"tool\":\"get_url\","
		"\"client\":\"claude-code\",\"arguments\":{\"url\":\"https://x\"},"
		"\"number\":3}}";
	char buf[512];
	json_object *o, *r;

	snprintf(buf, sizeof(buf), "{" TIME ",\"type\":\"mcp_tool_call\","
		 "\"phase\":\"start\",%s}", call);
	o = conv(buf);
	check_base(unit_failed, o, 6003, 99);
	CHECK_STR(str(o, "actor.app_name"), "claude-code");
	CHECK_STR(str(o, "api.operation"), "tools/call");
	CHECK_STR(str(o, "api.request.uid"), "7");
	CHECK_STR(str(o, "api.request.data.url"), "https://x");
	CHECK_STR(str(o, "api.service.name"), "fetch");
	CHECK(!path(o, "api.response") && !path(o, "status_id"));
	r = json_object_array_get_idx(path(o, "resources"), 0);
	CHECK_STR(str(r, "name"), "get_url");
	CHECK_STR(str(o, "src_endpoint.hostname"), "node1");
	CHECK_STR(str(o, "message"), "mcp_tool_call: get_url (id 7) began");
	CHECK(num(o, "unmapped.mcp.call.number") == 3);
	CHECK_STR(str(o, "unmapped.phase"), "start");
	CHECK(num(o, "severity_id") == 1);
	json_object_put(o);
	snprintf(buf, sizeof(buf), "{" TIME ",\"type\":\"mcp_tool_call\","
		 "\"phase\":\"end\",\"outcome\":\"tool_error\","
		 "\"duration_ns\":2500000,\"denies\":2,%s}", call);
	o = conv(buf);
	check_base(unit_failed, o, 6003, 99);
	CHECK(num(o, "status_id") == 2);
	CHECK_STR(str(o, "api.response.error"), "tool_error");
	CHECK(num(o, "duration") == 2);
	CHECK(num(o, "severity_id") == 2);
	CHECK(num(o, "unmapped.denies") == 2);
	CHECK_STR(str(o, "message"), "mcp_tool_call: get_url (id 7) ended: tool_error, 2 denies");
	json_object_put(o);
}

/* The call a kernel event happened in goes along, unmapped. */
UNIT_TEST(events_keep_their_tool_call)
{
	json_object *o = conv("{" TIME ",\"type\":\"network_connect\",\"action\":\"deny\","
			      "\"network\":{\"daddr\":\"10.0.0.1\",\"dport\":80},"
			      "\"mcp\":{\"call\":{\"id\":1,\"tool\":\"fetch\"},"
			      "\"attribution\":\"exact\"}}");

	CHECK_STR(str(o, "unmapped.mcp.call.tool"), "fetch");
	CHECK_STR(str(o, "unmapped.mcp.attribution"), "exact");
	json_object_put(o);
}

UNIT_MAIN("ocsf")
