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

MW_ABI_SIZE(mw_server, 24);
MW_ABI_OFF(mw_server, start_time, 8);
MW_ABI_OFF(mw_server, source, 16);
MW_ABI_SIZE(mw_tracked, 32);
MW_ABI_OFF(mw_tracked, server, 8);
MW_ABI_SIZE(mw_cgroup_key, 16);
MW_ABI_SIZE(mw_detect_rule, 56);
MW_ABI_OFF(mw_detect_rule, profile, 4);
MW_ABI_OFF(mw_detect_rule, pattern, 8);
MW_ABI_SIZE(mw_config, 8);
MW_ABI_SIZE(mw_gen, 8);
MW_ABI_SIZE(mw_profile, 16);
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
MW_ABI_SIZE(mw_event_exec, 6264);
MW_ABI_OFF(mw_event_exec, proc, 16);
MW_ABI_OFF(mw_event_exec, server, 72);
MW_ABI_OFF(mw_event_exec, exe_ino, 96);
MW_ABI_OFF(mw_event_exec, rule_id, 116);
MW_ABI_OFF(mw_event_exec, data, 120);
MW_ABI_SIZE(mw_event_exit, 104);
MW_ABI_OFF(mw_event_exit, exit_code, 96);
MW_ABI_SIZE(mw_event_net, 144);
MW_ABI_OFF(mw_event_net, daddr, 96);
MW_ABI_OFF(mw_event_net, checked, 112);
MW_ABI_OFF(mw_event_net, dport, 128);
MW_ABI_OFF(mw_event_net, rule_id, 136);
MW_ABI_SIZE(mw_event_file, 4216);
MW_ABI_OFF(mw_event_file, ino, 96);
MW_ABI_OFF(mw_event_file, path_len, 114);
MW_ABI_OFF(mw_event_file, path, 120);
MW_ABI_SIZE(mw_event_unix, 232);
MW_ABI_OFF(mw_event_unix, ino, 96);
MW_ABI_OFF(mw_event_unix, path, 120);
MW_ABI_SIZE(mw_event_signal, 112);
MW_ABI_OFF(mw_event_signal, target, 96);
MW_ABI_OFF(mw_event_signal, who, 104);
MW_ABI_SIZE(mw_event_escape, 112);
MW_ABI_OFF(mw_event_escape, escape, 96);
MW_ABI_OFF(mw_event_escape, action, 104);
MW_ABI_SIZE(mw_event_socket, 112);
MW_ABI_OFF(mw_event_socket, family, 96);
MW_ABI_OFF(mw_event_socket, action, 108);
MW_ABI_SIZE(mw_meta, 48);
MW_ABI_OFF(mw_meta, cgroup_id, 8);
MW_ABI_OFF(mw_meta, object, 16);
MW_ABI_SIZE(mw_profile_name, 64);
MW_ABI_SIZE(mw_event_fanotify, 10360);
MW_ABI_OFF(mw_event_fanotify, ino, 96);
MW_ABI_OFF(mw_event_fanotify, rule_id, 108);
MW_ABI_OFF(mw_event_fanotify, path_len, 114);
MW_ABI_OFF(mw_event_fanotify, exe_len, 116);
MW_ABI_OFF(mw_event_fanotify, args_len, 118);
MW_ABI_OFF(mw_event_fanotify, path, 120);
MW_ABI_SIZE(mw_fence_report_args, 16);
MW_ABI_SIZE(mw_agg_key, 72);
MW_ABI_OFF(mw_agg_key, ino, 48);
MW_ABI_OFF(mw_agg_key, addr, 56);
MW_ABI_SIZE(mw_agg_value, 112);
MW_ABI_OFF(mw_agg_value, proc, 32);
MW_ABI_SIZE(mw_event_agg, 192);
MW_ABI_OFF(mw_event_agg, key, 72);
MW_ABI_OFF(mw_event_agg, count, 144);
MW_ABI_OFF(mw_event_agg, checked, 168);
MW_ABI_SIZE(mw_agg_flush_args, 32);

#endif /* MW_ABI_H */
