/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The layout of include/mcpwarden.h, pinned: every struct that crosses
 * between the BPF programs and userspace, its size and the offsets that
 * follow padding. Included by bpf/mcpwarden.bpf.c and by
 * user/kernel/maps.c, so a change that moves a field fails to compile in
 * whichever world would read it differently (Tetragon's alignchecker does
 * the same at run time).
 */
#ifndef MW_ABI_H
#define MW_ABI_H

#include "mcpwarden.h"

#define MW_ABI_SIZE(t, n) \
	_Static_assert(sizeof(struct t) == (n), "sizeof(struct " #t ")")
#define MW_ABI_OFF(t, f, n) \
	_Static_assert(__builtin_offsetof(struct t, f) == (n), #t "." #f)

MW_ABI_SIZE(mw_server, 40);
MW_ABI_SIZE(mw_calls, 16);
MW_ABI_SIZE(mw_call, 208);
MW_ABI_OFF(mw_call, id, 32);
MW_ABI_SIZE(mw_session, 26816);
MW_ABI_OFF(mw_session, client, 64);
MW_ABI_OFF(mw_session, log, 192);
MW_ABI_OFF(mw_server, start_time, 8);
MW_ABI_OFF(mw_server, source, 16);
MW_ABI_SIZE(mw_tracked, 48);
MW_ABI_OFF(mw_tracked, server, 8);
MW_ABI_SIZE(mw_cgroup_key, 16);
MW_ABI_SIZE(mw_detect_rule, 56);
MW_ABI_OFF(mw_detect_rule, profile, 4);
MW_ABI_OFF(mw_detect_rule, pattern, 8);
MW_ABI_SIZE(mw_config, 8);
MW_ABI_SIZE(mw_gen, 8);
MW_ABI_SIZE(mw_profile, 24);
MW_ABI_OFF(mw_profile, idle_fence, 18);
MW_ABI_SIZE(mw_tool_key, 76);
MW_ABI_OFF(mw_tool_key, name, 12);
MW_ABI_SIZE(mw_tool_value, 12);
MW_ABI_OFF(mw_profile, escape_deny, 12);
MW_ABI_SIZE(mw_unix_key, 116);
MW_ABI_OFF(mw_unix_key, path, 8);
MW_ABI_SIZE(mw_inode_key, 24);
MW_ABI_OFF(mw_inode_key, ino, 16);
MW_ABI_SIZE(mw_rule_value, 8);
MW_ABI_OFF(mw_rule_value, rule_id, 4);
MW_ABI_SIZE(mw_net_key, 28);
MW_ABI_OFF(mw_net_key, addr, 12);
MW_ABI_SIZE(mw_port_rule, 12);
MW_ABI_OFF(mw_port_rule, rule_id, 8);
MW_ABI_SIZE(mw_net_value, 100);
MW_ABI_OFF(mw_net_value, rules, 4);
MW_ABI_SIZE(mw_event_hdr, 16);
MW_ABI_OFF(mw_event_hdr, time, 8);
MW_ABI_SIZE(mw_process, 56);
MW_ABI_OFF(mw_process, start_time, 24);
MW_ABI_OFF(mw_process, cgroup_id, 32);
MW_ABI_OFF(mw_process, comm, 40);
MW_ABI_SIZE(mw_event_exec, 6280);
MW_ABI_OFF(mw_event_exec, proc, 16);
MW_ABI_OFF(mw_event_exec, server, 72);
MW_ABI_OFF(mw_event_exec, exe_ino, 112);
MW_ABI_OFF(mw_event_exec, rule_id, 132);
MW_ABI_OFF(mw_event_exec, data, 136);
MW_ABI_SIZE(mw_event_exit, 120);
MW_ABI_OFF(mw_event_exit, exit_code, 112);
MW_ABI_SIZE(mw_event_net, 160);
MW_ABI_OFF(mw_event_net, daddr, 112);
MW_ABI_OFF(mw_event_net, checked, 128);
MW_ABI_OFF(mw_event_net, dport, 144);
MW_ABI_OFF(mw_event_net, rule_id, 152);
MW_ABI_SIZE(mw_event_file, 4232);
MW_ABI_OFF(mw_event_file, ino, 112);
MW_ABI_OFF(mw_event_file, path_len, 130);
MW_ABI_OFF(mw_event_file, path, 136);
MW_ABI_SIZE(mw_event_unix, 248);
MW_ABI_OFF(mw_event_unix, ino, 112);
MW_ABI_OFF(mw_event_unix, path, 136);
MW_ABI_SIZE(mw_event_signal, 128);
MW_ABI_OFF(mw_event_signal, target, 112);
MW_ABI_OFF(mw_event_signal, who, 120);
MW_ABI_SIZE(mw_event_escape, 128);
MW_ABI_OFF(mw_event_escape, escape, 112);
MW_ABI_OFF(mw_event_escape, action, 120);
MW_ABI_SIZE(mw_event_socket, 128);
MW_ABI_OFF(mw_event_socket, family, 112);
MW_ABI_OFF(mw_event_socket, action, 124);
MW_ABI_SIZE(mw_meta, 48);
MW_ABI_OFF(mw_meta, cgroup_id, 8);
MW_ABI_OFF(mw_meta, object, 16);
MW_ABI_SIZE(mw_profile_name, 64);
MW_ABI_SIZE(mw_event_fanotify, 10376);
MW_ABI_OFF(mw_event_fanotify, ino, 112);
MW_ABI_OFF(mw_event_fanotify, rule_id, 124);
MW_ABI_OFF(mw_event_fanotify, path_len, 130);
MW_ABI_OFF(mw_event_fanotify, exe_len, 132);
MW_ABI_OFF(mw_event_fanotify, args_len, 134);
MW_ABI_OFF(mw_event_fanotify, path, 136);
MW_ABI_SIZE(mw_fence_report_args, 16);
MW_ABI_SIZE(mw_agg_key, 88);
MW_ABI_OFF(mw_agg_key, ino, 64);
MW_ABI_OFF(mw_agg_key, addr, 72);
MW_ABI_SIZE(mw_agg_value, 112);
MW_ABI_OFF(mw_agg_value, proc, 32);
MW_ABI_SIZE(mw_event_agg, 208);
MW_ABI_OFF(mw_event_agg, key, 72);
MW_ABI_OFF(mw_event_agg, count, 160);
MW_ABI_OFF(mw_event_agg, checked, 184);
MW_ABI_SIZE(mw_agg_flush_args, 40);

#endif /* MW_ABI_H */
