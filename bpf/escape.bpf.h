/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Escape primitives (BPF-LSM): the hooks where a process could leave its
 * fence (ptrace, bpf, perf, mounts, modules, kexec, keys, user namespaces),
 * refused by class (enum mw_escape) for the profiles that deny it.
 */
#ifndef MW_ESCAPE_BPF_H
#define MW_ESCAPE_BPF_H

#include "mcpwarden.h"
#include "lib/consts.bpf.h"
#include "lib/maps.bpf.h"
#include "lib/task.bpf.h"
#include "lib/emit.bpf.h"

static __always_inline int mw_escape_check(__u32 sys)
{
	struct mw_event_escape ev = {};
	struct mw_profile *p;
	struct mw_tracked *t;
	__u64 start;
	__u32 gen;
	__u8 action;

	p = mw_current_profile(&t, &start, &gen);
	if (!p || !(p->escape_deny & (1u << sys)))
		return 0;
	action = mw_mode_action(p, MW_ACTION_DENY);
	mw_fill_current(&ev.proc, start);
	mw_server_copy(&ev.server, t);
	ev.escape = sys;
	ev.rule_id = MW_RULE_DEFAULT;
	ev.action = action;
	mw_emit(&ev, MW_EVENT_ESCAPE, sizeof(ev), 1);
	mw_count_verdict(action);
	return action == MW_ACTION_DENY ? -EPERM : 0;
}

SEC("lsm/ptrace_access_check")
int BPF_PROG(handle_ptrace, struct task_struct *child, unsigned int mode)
{
	return mw_escape_check(MW_ESC_PTRACE);
}

/*
 * PTRACE_TRACEME: the tracer's later PEEK and POKE pass no access check;
 * a tracked process asks to be traced by its (tracked) parent, which then
 * rewrites its memory after an exec was judged.
 */
SEC("lsm/ptrace_traceme")
int BPF_PROG(handle_ptrace_traceme, struct task_struct *parent)
{
	return mw_escape_check(MW_ESC_PTRACE);
}

SEC("lsm/bpf")
int BPF_PROG(handle_bpf, int cmd)
{
	return mw_escape_check(MW_ESC_BPF);
}

/*
 * Unpinning: a pin removed or moved in a bpffs (rm /sys/fs/bpf/...) is a
 * link or map that goes when its last fd does; the agent's pins are what
 * keeps the fence across its restarts. The bpf class, as the bpf() call.
 */
#define BPF_FS_MAGIC	0xcafe4a11

static __always_inline bool mw_on_bpffs(const struct inode *dir)
{
	return dir->i_sb->s_magic == BPF_FS_MAGIC;
}

SEC("lsm/inode_unlink")
int BPF_PROG(handle_inode_unlink, struct inode *dir, struct dentry *dentry)
{
	return mw_on_bpffs(dir) ? mw_escape_check(MW_ESC_BPF) : 0;
}

SEC("lsm/inode_rmdir")
int BPF_PROG(handle_inode_rmdir, struct inode *dir, struct dentry *dentry)
{
	return mw_on_bpffs(dir) ? mw_escape_check(MW_ESC_BPF) : 0;
}

SEC("lsm/inode_rename")
int BPF_PROG(handle_inode_rename, struct inode *old_dir, struct dentry *old_dentry,
	     struct inode *new_dir, struct dentry *new_dentry)
{
	return mw_on_bpffs(old_dir) || mw_on_bpffs(new_dir) ?
	       mw_escape_check(MW_ESC_BPF) : 0;
}

/*
 * open_by_handle_at() opens a file with no path and, unless it is in the
 * dentry cache, no parent: no walk finds the rule of a protected directory
 * above it. It needs CAP_DAC_READ_SEARCH; refused there, in that call only
 * (a read past a mode bit asks for the same capability, and gets it).
 */
SEC("lsm/capable")
int BPF_PROG(handle_capable, const struct cred *cred, struct user_namespace *ns,
	     int cap)
{
	struct pt_regs *regs;
	unsigned long nr;

	if (cap != MW_CAP_DAC_READ_SEARCH)
		return 0;
	regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	nr = BPF_CORE_READ(regs, orig_ax) & ~(unsigned long)MW_X32_SYSCALL_BIT;
	/* The i386 number is no x86-64 call: only int 0x80 gives it. */
	if (nr != MW_NR_OPEN_BY_HANDLE_AT && nr != MW_NR_OPEN_BY_HANDLE_AT_I386)
		return 0;
	return mw_escape_check(MW_ESC_HANDLE);
}

SEC("lsm/perf_event_open")
int BPF_PROG(handle_perf_event_open, struct perf_event_attr *attr, int type)
{
	return mw_escape_check(MW_ESC_PERF_EVENT);
}

SEC("lsm/sb_mount")
int BPF_PROG(handle_mount, const char *dev_name)
{
	return mw_escape_check(MW_ESC_MOUNT);
}

SEC("lsm/sb_umount")
int BPF_PROG(handle_umount, struct vfsmount *mnt, int flags)
{
	return mw_escape_check(MW_ESC_UMOUNT);
}

SEC("lsm/kernel_load_data")
int BPF_PROG(handle_load_data, enum kernel_load_data_id id)
{
	return mw_escape_check(id == LOADING_KEXEC_IMAGE ? MW_ESC_KEXEC :
			    MW_ESC_MODULE);
}

SEC("lsm/kernel_read_file")
int BPF_PROG(handle_read_file, struct file *file, enum kernel_read_file_id id)
{
	if (id == READING_MODULE)
		return mw_escape_check(MW_ESC_MODULE);
	if (id == READING_KEXEC_IMAGE || id == READING_KEXEC_INITRAMFS)
		return mw_escape_check(MW_ESC_KEXEC);
	return 0;
}

SEC("lsm/key_alloc")
int BPF_PROG(handle_key_alloc, struct key *key)
{
	return mw_escape_check(MW_ESC_KEYS);
}

SEC("lsm/userns_create")
int BPF_PROG(handle_userns_create, const struct cred *cred)
{
	return mw_escape_check(MW_ESC_USERNS);
}

#endif /* MW_ESCAPE_BPF_H */
