/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The one contract between the BPF programs and userspace: map keys and
 * values, event records, enums. Fixed-width types, explicit padding, numbered
 * enums; include/mw_abi.h checks sizes and offsets in both worlds.
 */
#ifndef MCPWARDEN_H
#define MCPWARDEN_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define MW_COMM_LEN		16
#define MW_PATH_MAX		4096	/* power of two: used as a mask */
#define MW_ARGS_MAX		2048	/* power of two: used as a mask */
#define MW_NAME_MAX		64	/* basename buffer for detection */
#define MW_PATTERN_MAX		48	/* longest detection pattern */
#define MW_DETECT_MAX		32	/* detection rules per generation */
#define MW_DETECT_ARGS		8	/* argv elements looked at by detection */
#define MW_PROFILES_MAX		64	/* profile ids 1..63; 0 is "none" */
#define MW_NET_PORTS		8	/* port rules sharing one prefix */
#define MW_NET_FALLBACK		8	/* shorter prefixes tried after a port miss */
#define MW_TRACKED_MAX		65536	/* compiled in; the loader sizes it */
#define MW_TRACKED_MIN		1024
#define MW_TRACKED_LIMIT	(1u << 22)	/* PID_MAX_LIMIT on 64-bit */
#define MW_CGROUPS_MAX		1024
#define MW_NET_RULES_MAX	16384
#define MW_EXEC_RULES_MAX	8192
#define MW_FILE_RULES_MAX	16384
#define MW_UNIX_RULES_MAX	8192	/* {uid} entries times every user, twice in a reload */
#define MW_APPLET_RULES_MAX	1024	/* mw_applet_rules entries */
#define MW_FILE_GUARDS_MAX	65536	/* mw_file_guards: directories above rules,
					 * ~15 a home and profile, twice in a reload */
#define MW_CGROUP_DEPTH		8	/* ancestors checked for cgroup selection */
#define MW_TICK_NS		10000000ULL /* USER_HZ 100: /proc start times */
#define MW_PROFILE_NAME_MAX	64	/* a profile's name and its NUL */
/*
 * The layout of the pinned maps: an agent adopts pins of its own version
 * only (mw_meta.abi). Bump it with any change of a map's key or value.
 */
#define MW_ABI_VERSION		3

enum mw_event_type {
	MW_EVENT_EXEC		= 1,
	MW_EVENT_EXIT		= 2,
	MW_EVENT_NET		= 3,
	MW_EVENT_SOCKET		= 4,
	MW_EVENT_FILE		= 5,
	MW_EVENT_UNIX		= 6,
	MW_EVENT_ESCAPE		= 7,
	MW_EVENT_FANOTIFY	= 8,	/* a verdict of the fanotify fence */
	MW_EVENT_SIGNAL		= 9,	/* a signal to the agent or its guard */
	MW_EVENT_AGG		= 10,	/* the repeats of a decision, counted */
};

/*
 * mw_guarded[i]: the tgid of the agent (MW_GUARDED_AGENT) and of its
 * fanotify guard, 0 if none. No tracked process may signal them.
 */
enum mw_guarded_idx {
	MW_GUARDED_AGENT	= 0,
	MW_GUARDED_GUARD	= 1,
	MW_GUARDED_MAX		= 2,
};

/*
 * Escape classes: what the BPF-LSM hooks refuse, bits of
 * mw_profile.escape_deny. A policy names system calls (syscalls.deny, which
 * the wrapper's seccomp filter refuses by number); each name that belongs to
 * a class also sets the class's bit (user/kernel/compile.c escape_class()).
 * An LSM hook sees the class, not the system call: events name the class.
 */
enum mw_escape {
	MW_ESC_PTRACE		= 0,
	MW_ESC_BPF		= 1,
	MW_ESC_PERF_EVENT	= 2,
	MW_ESC_MOUNT		= 3,
	MW_ESC_UMOUNT		= 4,
	MW_ESC_MODULE		= 5,	/* init_module, finit_module */
	MW_ESC_KEXEC		= 6,
	MW_ESC_KEYS		= 7,	/* add_key, keyctl, request_key */
	MW_ESC_USERNS		= 8,	/* unshare(CLONE_NEWUSER) and clone */
	MW_ESC_HANDLE		= 9,	/* open_by_handle_at: no parent, no rule */
	MW_ESC_MAX		= 10,
};

/* How a process came to be tracked; children keep their root's source. */
enum mw_source {
	MW_SOURCE_NONE		= 0,
	MW_SOURCE_WRAPPER	= 1,
	MW_SOURCE_DETECT	= 2,
	MW_SOURCE_CGROUP	= 3,
	MW_SOURCE_SCAN		= 4,
};

enum mw_action {
	MW_ACTION_NONE		= 0,
	MW_ACTION_ALLOW		= 1,
	MW_ACTION_AUDIT		= 2,
	MW_ACTION_DENY		= 3,	/* ordered: a larger value is stricter */
	MW_ACTION_KILL		= 4,	/* events only: denied after the exec */
};

enum mw_mode {
	MW_MODE_ENFORCE		= 0,
	MW_MODE_MONITOR		= 1,
};

enum mw_net_op {
	MW_NET_CONNECT		= 1,
	MW_NET_SENDMSG		= 2,
};

/* Which form of a destination decided the verdict. */
enum mw_addr_form {
	MW_FORM_NATIVE		= 0,
	MW_FORM_MAPPED		= 1,	/* ::ffff:a.b.c.d on an AF_INET6 socket */
	MW_FORM_NAT64		= 2,	/* 64:ff9b::a.b.c.d */
	MW_FORM_6TO4		= 3,	/* 2002:aabb:ccdd::/48 */
	MW_FORM_UNSPEC		= 4,	/* 0.0.0.0 or ::, judged as loopback */
	MW_FORM_COMPAT		= 5,	/* ::a.b.c.d, IPv4-compatible (RFC 4291) */
	MW_FORM_SIIT		= 6,	/* ::ffff:0:a.b.c.d (RFC 2765) */
};

enum mw_match_kind {
	MW_MATCH_EXACT		= 1,
	MW_MATCH_PREFIX		= 2,
	MW_MATCH_SUFFIX		= 3,
};

/* Per-CPU counters (mw_counters); userspace sums and reports them. */
enum mw_counter {
	MW_CNT_EVENTS		= 0,	/* events written to the ring buffer */
	MW_CNT_RINGBUF_FULL	= 1,	/* ring-buffer reserve/output failed */
	MW_CNT_TRACK_FULL	= 2,	/* mw_tracked update failed */
	MW_CNT_DENIES		= 3,
	MW_CNT_AUDITS		= 4,
	MW_CNT_READ_ERRS	= 5,	/* a kernel/user read failed */
	/* A routine event refused: the ring's last quarter is for verdicts. */
	MW_CNT_RINGBUF_ROUTINE	= 6,
	MW_CNT_AGG_FULL		= 7,	/* mw_agg full: written one by one */
	MW_CNT_MAX		= 8,
};

/*
 * MCP sessions: a wrapped server whose stdio passes through the
 * interposer has a session page (mw_sessions[slot], a one-element
 * mmapable array), which the interposer writes as tool calls begin and
 * end, the hooks read at each decision, and the agent reads for the
 * calls' details (docs/events.md, "mcp").
 */
#define MW_SESSIONS_MAX		1024	/* sessions at once */
#define MW_CALLS_INFLIGHT	8	/* calls a page says run at once */
#define MW_CALLS_EVENT		3	/* of them, named in an event */
#define MW_CALL_LOG		128	/* calls a page keeps, the last ones */
#define MW_CALL_ID_MAX		80
#define MW_CALL_TOOL_MAX	64
#define MW_CLIENT_MAX		64
#define MW_CALLS_TORN		0x80000000u	/* calls.n: read mid-change */
/* mw_server.session: the slot + 1, and the slot's generation above. */
#define MW_SESSION_SLOT(s)	(((s) & 0xffff) - 1)
#define MW_SESSION_GEN(s)	((s) >> 16)

enum mw_call_flags {
	MW_CALL_ID_STR		= 1,	/* the id is a JSON string */
	MW_CALL_ID_CUT		= 2,	/* longer than MW_CALL_ID_MAX */
	MW_CALL_ENDED		= 4,	/* its response passed (or it was cancelled) */
	MW_CALL_ERROR		= 8,	/* a JSON-RPC error response */
	MW_CALL_IS_ERROR	= 16,	/* a result with isError true */
	MW_CALL_CANCELLED	= 32,
	MW_CALL_ARGS		= 64,	/* arguments_sha256 is set */
	/* tool is not the name: empty, or cut (longer than MW_CALL_TOOL_MAX - 1) */
	MW_CALL_TOOL_CUT	= 128,
	MW_CALL_ARGS_TEXT	= 256,	/* its arguments are in the page's args */
};

/* One tool call, in a session page's log. */
struct mw_call {
	__u32 seq;		/* odd while the interposer writes it */
	__u32 number;		/* the session's count of calls, from 1 */
	__u64 start_ns;		/* CLOCK_BOOTTIME */
	__u64 end_ns;		/* 0 while it runs */
	__u32 flags;		/* enum mw_call_flags */
	__u32 pad;
	char id[MW_CALL_ID_MAX];	/* a string id decoded, or a number */
	char tool[MW_CALL_TOOL_MAX];
	__u8 args_sha256[32];
};

/* mw_session.flags: what the server's profile asks of its interposer. */
enum {
	MW_SESSION_SERIAL	= 1,	/* mcp.serialize_calls */
	MW_SESSION_ARGS		= 2,	/* mcp.arguments "full": write them */
};

/*
 * mcp.arguments "full": the page's map has MW_ARGS_SLOTS more entries,
 * each a call's arguments as the client sent them (strings longer than
 * MW_ARGS_STR_MAX bytes of JSON text cut short), the call numbered n at
 * entry 1 + (n - 1) % MW_ARGS_SLOTS. Userspace only: the hooks never read
 * them; the agent redacts them (mcp.redact) for the call's start event.
 */
#define MW_ARGS_SLOTS		16
#define MW_ARGS_TEXT_MAX	16384
#define MW_ARGS_STR_MAX		256

enum mw_args_flags {
	MW_ARGS_CUT		= 1,	/* strings were cut short */
	MW_ARGS_OVER		= 2,	/* longer than MW_ARGS_TEXT_MAX: no text */
};

struct mw_call_args {
	__u32 seq;		/* odd while the interposer writes it */
	__u32 number;		/* the call's */
	__u32 len;		/* of text */
	__u32 flags;		/* enum mw_args_flags */
	char text[MW_ARGS_TEXT_MAX];
};

struct mw_session {
	__u32 seq;		/* odd while the interposer changes inflight */
	__u32 gen;		/* MW_SESSION_GEN of the server's session */
	__u32 server_pid;	/* the agent's, for its bookkeeping */
	__u32 ninflight;	/* calls running */
	__u32 inflight[MW_CALLS_INFLIGHT];	/* their numbers, oldest first */
	__u32 started;		/* calls begun, ever: the log's write position */
	__u32 flags;		/* MW_SESSION_*, the agent's: the profile's asks */
	__u64 server_start;	/* the agent's, with server_pid */
	char client[MW_CLIENT_MAX];	/* initialize: clientInfo */
	char client_version[MW_CLIENT_MAX];
	struct mw_call log[MW_CALL_LOG];	/* number n at [(n - 1) % LOG] */
};

/*
 * Tool fences: a profile's "tools.PATTERN" and "idle" sections are network
 * rules of their own, in mw_net_rules under a fence id (MW_FENCE_FIRST..,
 * per generation) in place of a profile id. A connect or send is judged by
 * the profile and by the fence of every call running (idle: the idle
 * fence), and the strictest verdict wins: a fence only narrows.
 * mw_tool_rules maps a tool name to its fence, longest pattern first: an
 * exact name is its bytes and the NUL, "read_*" the bytes before the '*'.
 */
#define MW_FENCE_FIRST		64	/* above every profile id */
#define MW_FENCES_MAX		192	/* ids MW_FENCE_FIRST..255 */
#define MW_TOOL_RULES_MAX	(2 * MW_FENCES_MAX)	/* two generations */
#define MW_TOOL_KEY_FIXED_BITS	64
#define MW_TOOL_TRIES		4	/* reads of a page that changes meanwhile */

struct mw_tool_key {
	__u32 prefixlen;	/* MW_TOOL_KEY_FIXED_BITS + 8 * pattern bytes */
	__u32 gen;
	__u32 profile;
	char name[MW_CALL_TOOL_MAX];
} __attribute__((packed));

struct mw_tool_value {
	__u32 fence;		/* MW_FENCE_FIRST.. */
	__u32 default_rule;	/* the rule id of its network.default */
	__u8 net_default;	/* enum mw_action: MW_ACTION_ALLOW if not given */
	__u8 pad[3];
};

/* The calls running at a decision, as the hook read them. */
struct mw_calls {
	__u32 n;		/* how many; | MW_CALLS_TORN */
	__u32 call[MW_CALLS_EVENT];
};

/* The identity of a tracked tree: its root process and profile. */
struct mw_server {
	__u32 pid;		/* tgid of the tracked root */
	__u32 profile;		/* profile id, 1..MW_PROFILES_MAX-1 */
	__u64 start_time;	/* root's start_boottime, ns */
	__u32 source;		/* enum mw_source */
	__u32 session;		/* 0: none (MW_SESSION_SLOT, MW_SESSION_GEN) */
	struct mw_calls calls;	/* in events: filled by the hook */
};

/* mw_tracked: tgid -> this value. */
struct mw_tracked {
	__u64 start_time;	/* the process's start_boottime, ns; compared
				 * at MW_TICK_NS granularity (/proc's unit) */
	struct mw_server server;
};

/* mw_cgroups key: cgroup v2 id in a policy generation. */
struct mw_cgroup_key {
	__u64 cgroup_id;
	__u32 gen;
	__u32 pad;
};

/*
 * A detection rule matches the basename of the executable and of each of the
 * first MW_DETECT_ARGS argv elements; a pattern with one '/' (depth 2, e.g.
 * "@modelcontextprotocol/server-*") matches the last two components.
 */
struct mw_detect_rule {
	__u8 kind;		/* enum mw_match_kind */
	__u8 len;		/* pattern length, 1..MW_PATTERN_MAX */
	__u8 depth;		/* path components compared: 1 or 2 */
	__u8 pad;
	__u32 profile;
	char pattern[MW_PATTERN_MAX];
};

/* mw_config[0]: the active generation; mw_gens[gen]: what it holds. */
struct mw_config {
	__u32 active_gen;	/* 0 or 1 */
	__u32 switches;		/* bumped by every switch: a reader's recheck */
};

struct mw_gen {
	__u32 ndetect;		/* rules in mw_detect[gen * MW_DETECT_MAX ..] */
	__u32 ncgroups;		/* entries of this generation in mw_cgroups */
};

/*
 * mw_meta[0]: who installed the pinned state. The next agent adopts it if
 * abi matches; with the same object, attached (state) to the same cgroup,
 * it adopts the programs (their links) too, else it attaches its own in
 * their place. abi 0: a load that stopped before attaching anything.
 */
enum mw_meta_state {
	MW_META_ATTACHING	= 0,	/* links being replaced: a mix */
	MW_META_ATTACHED	= 1,	/* every link is of @object */
};

struct mw_meta {
	__u32 abi;		/* MW_ABI_VERSION */
	__u32 state;		/* enum mw_meta_state */
	__u64 cgroup_id;	/* where the socket programs are attached */
	__u8 object[32];	/* sha256 of the BPF object */
};

/*
 * mw_profile_names[id]: the name of profile id @id. Tracked processes carry
 * ids; an agent that adopts them must read them with the same names.
 */
struct mw_profile_name {
	char name[MW_PROFILE_NAME_MAX];
};

/* mw_profiles[gen * MW_PROFILES_MAX + id] */
struct mw_profile {
	__u8 present;
	__u8 mode;		/* enum mw_mode */
	__u8 net_default;	/* enum mw_action when no network rule matches */
	__u8 deny_raw;		/* raw and packet sockets refused */
	__u8 exec_allowlist;	/* only binaries with an allow rule may run */
	__u8 fileless;		/* enum mw_action for memfd and deleted files */
	__u8 has_exec;		/* the profile has exec rules or an allow-list */
	__u8 has_files;		/* file rules or confinement */
	__u8 files_allowlist;	/* only what an allow rule covers may be opened */
	__u8 has_unix;		/* unix socket rules */
	__u8 has_applets;	/* exec rules on applets of multi-call binaries */
	__u8 writable;		/* enum mw_action: binaries the user may write */
	__u32 escape_deny;		/* bits of enum mw_escape */
	/* Tool fences (mw_tool_rules): the calls running narrow the network. */
	__u8 has_tools;		/* a "tools" or "idle" section */
	__u8 idle_default;	/* the idle fence's network.default */
	__u16 idle_fence;	/* its fence id, 0: no "idle" section */
	__u32 idle_rule;	/* the rule id of that default */
};

/* mw_unix_paths: a unix socket path as a connect() gives it. */
#define MW_UNIX_PATH_MAX	108
struct mw_unix_key {
	__u32 gen;
	__u32 profile;
	char path[MW_UNIX_PATH_MAX];
};

/*
 * mw_applet_rules: an applet of a multi-call binary (busybox), by the
 * binary's inode and the name the binary runs as. The entry with an empty
 * name says the binary has applets with rules: handle_exec leaves its execs
 * to handle_exec_late.
 */
#define MW_APPLET_NAME_MAX	32
struct mw_applet_key {
	__u32 gen;
	__u32 profile;
	__u32 dev;		/* the kernel's s_dev: major << 20 | minor */
	__u32 pad;
	__u64 ino;
	char name[MW_APPLET_NAME_MAX];
};

/* mw_exec_rules: a binary or directory inode in a profile's generation. */
struct mw_inode_key {
	__u32 gen;
	__u32 profile;
	__u32 dev;		/* the kernel's s_dev: major << 20 | minor */
	__u32 pad;
	__u64 ino;
};

/*
 * mw_file_names: a file rule by the name it has in its directory, so that
 * what an editor renames over a protected file is protected at once.
 * Names of MW_FNAME_MAX bytes or more have no entry.
 */
#define MW_FNAME_MAX		64
struct mw_name_key {
	__u32 gen;
	__u32 profile;
	__u32 dev;		/* of the directory */
	__u32 pad;
	__u64 ino;
	char name[MW_FNAME_MAX];	/* NUL-padded */
};

struct mw_rule_value {
	__u8 action;		/* enum mw_action */
	__u8 is_dir;		/* applies to everything beneath */
	__u8 readonly;		/* files: the action is for writes and changes */
	__u8 exec_only;		/* exec: not for lsm/mmap_file (the loaders) */
	__u32 rule_id;
};

/*
 * Rule ids: userspace gives every rule name a stable id below
 * MW_RULE_IDS_MAX; the six above it are not rules of the document.
 */
#define MW_RULE_IDS_MAX		65534
#define MW_RULE_CALLS_TORN	0xfffffffau	/* tool fences: calls unreadable */
#define MW_RULE_LAUNCHER	0xfffffffbu	/* profile 0: a launcher, no rule */
#define MW_RULE_WRITABLE	0xfffffffcu	/* the profile's exec.writable */
#define MW_RULE_UNJUDGED	0xfffffffdu	/* fanotify: no rule could be found */
#define MW_RULE_FILELESS	0xfffffffeu	/* the profile's exec.fileless */
#define MW_RULE_DEFAULT		0xffffffffu	/* the profile's default */

/* mw_net_rules: LPM trie. prefixlen counts the 64 bits of gen and profile. */
struct mw_net_key {
	__u32 prefixlen;
	__u32 gen;
	__u32 profile;
	__u8 addr[16];		/* IPv6; IPv4 as ::ffff:a.b.c.d */
} __attribute__((packed));

#define MW_NET_KEY_FIXED_BITS	64

struct mw_port_rule {
	__u16 port_lo;		/* 0..65535; lo = 0, hi = 65535 for any port */
	__u16 port_hi;
	__u8 protocol;		/* 0 any, 6 tcp, 17 udp */
	__u8 action;		/* enum mw_action */
	__u16 pad;
	__u32 rule_id;		/* a stable rule id (see MW_RULE_IDS_MAX) */
};

struct mw_net_value {
	__u8 plen;		/* the CIDR length of this entry, 0..128 */
	__u8 nrules;
	__u16 pad;
	struct mw_port_rule rules[MW_NET_PORTS]; /* most specific first */
};

/* Every event starts with this header. */
struct mw_event_hdr {
	__u32 type;		/* enum mw_event_type */
	__u32 size;		/* bytes of the whole record */
	__u64 time;		/* bpf_ktime_get_boot_ns() */
};

struct mw_process {
	__u32 pid;		/* tgid */
	__u32 tid;
	__u32 ppid;		/* tgid of real_parent */
	__u32 uid;
	__u32 gid;
	__u32 pad;
	__u64 start_time;	/* group leader's start_boottime, ns */
	__u64 cgroup_id;	/* cgroup v2 id */
	char comm[MW_COMM_LEN];
};

enum mw_exec_hook {
	MW_HOOK_EXEC_TP		= 0,	/* raw_tp/sched_process_exec */
	MW_HOOK_BPRM_CHECK	= 1,	/* lsm/bprm_check_security */
	MW_HOOK_MMAP_FILE	= 2,	/* lsm/mmap_file (the loader trick) */
};

struct mw_event_exec {
	struct mw_event_hdr hdr;
	struct mw_process proc;
	struct mw_server server;
	__u64 exe_ino;
	__u32 exe_dev;
	__u16 exe_len;		/* bytes of exe path in data[], with its NUL */
	__u16 args_len;		/* bytes of argv in data[] after the path */
	__u8 args_truncated;
	__u8 action;		/* enum mw_action; NONE where nothing judged */
	__u8 hook;		/* enum mw_exec_hook */
	__u8 fileless;
	__u32 rule_id;
	char data[MW_PATH_MAX + MW_ARGS_MAX];
};

struct mw_event_exit {
	struct mw_event_hdr hdr;
	struct mw_process proc;
	struct mw_server server;
	__u32 exit_code;	/* the wait status: code << 8 | signal */
	__u32 pad;
};

struct mw_event_net {
	struct mw_event_hdr hdr;
	struct mw_process proc;
	struct mw_server server;
	__u8 daddr[16];		/* as the caller gave it, IPv4 mapped */
	__u8 checked[16];	/* the address that decided (unwrapped) */
	__u16 dport;		/* host order */
	__u8 family;		/* AF_INET or AF_INET6 of the socket */
	__u8 protocol;		/* IPPROTO_TCP / IPPROTO_UDP */
	__u8 op;		/* enum mw_net_op */
	__u8 action;		/* enum mw_action */
	__u8 form;		/* enum mw_addr_form */
	__u8 pad;
	__u32 rule_id;		/* 0xffffffff: the profile's default */
	__u32 pad2;
};

/* A file open judged by lsm/file_open (or fanotify, built in userspace). */
struct mw_event_file {
	struct mw_event_hdr hdr;
	struct mw_process proc;
	struct mw_server server;
	__u64 ino;
	__u32 dev;
	__u32 rule_id;
	__u8 action;
	__u8 op;		/* enum mw_file_op */
	__u16 path_len;		/* with its NUL */
	__u32 pad2;
	char path[MW_PATH_MAX];
};

/* What a file event's process did: opened, or changed what a rule covers. */
enum mw_file_op {
	MW_FILE_OP_OPEN		= 0,
	MW_FILE_OP_RENAME	= 1,
	MW_FILE_OP_LINK		= 2,
	MW_FILE_OP_UNLINK	= 3,	/* unlink or rmdir */
	MW_FILE_OP_CREATE	= 4,	/* a file, directory, symlink, node */
	MW_FILE_OP_TRUNCATE	= 5,	/* truncate(2) */
	MW_FILE_OP_CHMOD	= 6,
	MW_FILE_OP_CHOWN	= 7,
};

/* A connect() to a unix socket judged by cgroup/connect_unix or LSM. */
struct mw_event_unix {
	struct mw_event_hdr hdr;
	struct mw_process proc;
	struct mw_server server;
	__u64 ino;		/* 0: judged by the path string */
	__u32 dev;
	__u32 rule_id;
	__u8 action;
	__u8 hook;		/* 0 cgroup/connect_unix, 1 lsm/unix_stream_connect */
	__u8 pad[6];
	char path[MW_UNIX_PATH_MAX];
	__u8 pad3[4];
};

/* An escape primitive refused by a BPF-LSM hook. */
struct mw_event_escape {
	struct mw_event_hdr hdr;
	struct mw_process proc;
	struct mw_server server;
	__u32 escape;		/* enum mw_escape */
	__u32 rule_id;
	__u8 action;
	__u8 pad[7];
};

/*
 * A tracked process signalled the agent or its guard: refused by
 * lsm/task_kill (MW_ACTION_DENY), or, without BPF-LSM, seen by
 * raw_tp/signal_generate after the fact and the sender killed
 * (MW_ACTION_KILL).
 */
struct mw_event_signal {
	struct mw_event_hdr hdr;
	struct mw_process proc;
	struct mw_server server;
	__u32 target;		/* tgid of the agent or the guard */
	__u32 sig;
	__u8 who;		/* enum mw_guarded_idx */
	__u8 action;
	__u8 hook;		/* 0 lsm/task_kill, 1 raw_tp/signal_generate */
	__u8 pad[5];
};

/*
 * A verdict of the fanotify fence (kernels without BPF-LSM), built by the
 * answering process and put in the ring buffer by handle_fence_report, so
 * that it keeps its place among the kernel's records and its loss is
 * counted as theirs. time is when the request was read.
 */
enum mw_fanotify_kind {
	MW_FAN_OPEN		= 0,	/* FAN_OPEN_PERM, judged by file rules */
	MW_FAN_EXEC		= 1,	/* FAN_OPEN_EXEC_PERM, by exec rules */
	MW_FAN_EXEC_OPEN	= 2,	/* an open of a denied binary (ld.so X) */
};

struct mw_event_fanotify {
	struct mw_event_hdr hdr;
	struct mw_process proc;
	struct mw_server server;
	__u64 ino;
	__u32 dev;		/* the kernel's s_dev encoding */
	__u32 rule_id;
	__u8 action;		/* MW_ACTION_DENY or MW_ACTION_AUDIT */
	__u8 kind;		/* enum mw_fanotify_kind */
	__u16 path_len;		/* bytes of path[], with its NUL */
	/*
	 * The requester's image and argv, after the path, read while it
	 * waits for the verdict (a short-lived child is gone by the time
	 * the agent writes the event); 0: not read (allowed requests).
	 */
	__u16 exe_len;		/* with its NUL, <= MW_PATH_MAX */
	__u16 args_len;		/* <= MW_ARGS_MAX */
	char path[MW_PATH_MAX + MW_PATH_MAX + MW_ARGS_MAX];
};

/* The context handle_fence_report takes: a record in the caller's memory. */
struct mw_fence_report_args {
	__u64 record;		/* user pointer to a struct mw_event_fanotify */
	__u32 size;		/* its bytes: the fixed part and path_len */
	__u32 pad;
};

struct mw_event_socket {
	struct mw_event_hdr hdr;
	struct mw_process proc;
	struct mw_server server;
	__u32 family;
	__u32 type;
	__u32 protocol;
	__u8 action;
	__u8 pad[3];
};

/*
 * Aggregation (bpf/lib/emit.bpf.h): identical decisions within a window
 * are one event and a count. mw_agg: this key -> struct mw_agg_value.
 */
#define MW_AGG_MAX		16384
#define MW_AGG_WINDOW_NS	(10 * 1000000000ULL)	/* the default */
/* An entry idle this long after its window is removed. */
#define MW_AGG_GRACE_NS		(1000000000ULL)

struct mw_agg_key {
	struct mw_server server;
	__u32 type;		/* enum mw_event_type of the decision */
	__u32 rule_id;
	__u8 action;
	__u8 op;		/* mw_net_op, mw_file_op, mw_fanotify_kind */
	__u8 protocol;
	__u8 family;
	__u16 port;
	__u16 pad;
	__u32 dev;
	__u32 pad2;
	__u64 ino;
	__u8 addr[16];		/* the destination, as the caller gave it */
};

struct mw_agg_value {
	__u64 window_start;	/* boot ns of the decision that opened it */
	__u64 repeats;		/* counted since the last summary */
	__u64 first_time;	/* of those repeats; 0: not known */
	__u64 last_time;
	struct mw_process proc;	/* the process of the first repeat */
	__u8 checked[16];	/* network: the address that decided */
	__u8 form;		/* network: enum mw_addr_form */
	__u8 pad[7];
};

/*
 * mw_consumer[0]: the agent's side of the ring, @bell: which records ring
 * it awake (emit.bpf.h). The first that does clears the word; the agent
 * sets it again before it waits once more.
 */
enum mw_bell {
	MW_BELL_NONE,		/* it reads soon anyway: nobody rings */
	MW_BELL_VERDICT,	/* on its 100 ms tick: a verdict rings */
	MW_BELL_ANY,		/* asleep on an empty ring: any record rings */
};

struct mw_consumer {
	__u64 bell;		/* enum mw_bell; 64 bits: BPF's xchg without -mcpu=v3 */
};

/* mw_agg_config[0], written by the agent: 0 turns aggregation off. */
struct mw_agg_config {
	__u64 window_ns;
	__u64 inserted;		/* entries made, ever: the sweep's "any news" */
};

/* The summary of a window: @count repeats of the decision @key. */
struct mw_event_agg {
	struct mw_event_hdr hdr;
	struct mw_process proc;
	struct mw_agg_key key;
	__u64 count;
	__u64 first_time;
	__u64 last_time;
	__u8 checked[16];
	__u8 form;
	__u8 pad[7];
};

/* handle_agg_flush's context, in and out (BPF_PROG_TEST_RUN). */
struct mw_agg_flush_args {
	__u32 force;		/* in: summarise open windows too (a drain) */
	__u32 pad;
	__u64 entries;		/* out: entries in mw_agg */
	__u64 flushed;		/* out: summaries written */
	__u64 kept;		/* out: summaries the ring had no room for */
	__u64 due;		/* out: when (boot ns) an entry next needs a
				 * sweep, for a window that closes or an entry
				 * idle past its grace; ~0: none */
};

#endif /* MCPWARDEN_H */
