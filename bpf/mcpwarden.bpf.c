// SPDX-License-Identifier: GPL-2.0-only
/*
 * mcpwarden: the one BPF object, so one skeleton, that tracks MCP server
 * process trees and fences them. Each domain header holds its programs:
 * tracking (fork, exit, detection), exec (and the late verdicts: busybox
 * applets, exec.writable), network, files, unix sockets and escape
 * primitives; bpf/lib/ holds what they share (the maps, the one emit
 * path, the path walk, the network judge). The headers expect what is
 * included here before them.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "mcpwarden.h"
#include "mw_abi.h"
#include "mw_ident.h"
#include "mw_match.h"
#include "tracking.bpf.h"
#include "exec.bpf.h"
#include "exec_late.bpf.h"
#include "network.bpf.h"
#include "unix.bpf.h"
#include "files.bpf.h"
#include "escape.bpf.h"
#include "self.bpf.h"
#include "aggregate.bpf.h"

char LICENSE[] SEC("license") = "GPL";
