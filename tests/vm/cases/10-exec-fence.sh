# SPDX-License-Identifier: GPL-2.0-only
# VM lane, exec fence under BPF-LSM: the cases of tests/integration/test_exec.py
# (which the host runs with fanotify), here with "mcpwarden run --backend lsm":
# lsm/bprm_check_security fails a denied exec with EACCES before anything is
# committed, lsm/mmap_file refuses mapping a denied binary executable (the
# loader trick). A denied binary is proven not to have run by its output (a
# marker it would print), never by an errno guess; the same command run
# untracked must print the marker. Sourced by lib.sh.
#
# Fixtures under /tmp/x, made before the agent starts (it resolves the exec
# paths to inodes when it loads the policy):
#   denied      a copy of /bin/hello-static     exec.deny[0]
#   sh          a copy of busybox (as "sh")      exec.deny[1]   (an interpreter)
#   denydir/    with sub/                        exec.deny[2]
#   dyn-denied  a copy of /bin/echo-dynamic      exec.deny[3]   (the loader trick)
#   allowed     another copy of hello-static     (not listed)
# /bin/echo-dynamic, /lib64/ld-linux-x86-64.so.2 and libc.so.6 are the host's,
# shipped by tests/vm/run; /bin/fexec and /bin/memfd-exec are tests/vm/helpers.

XF=/tmp/x
XF_POLICY=/tmp/xf.json
XF_LD=/lib64/ld-linux-x86-64.so.2

# xf_setup [DEFAULT-KEYS [PROFILES]]: the fixtures and $XF_POLICY. DEFAULT-KEYS
# are added to the default profile (e.g. '"mode":"monitor",'), PROFILES after
# it (e.g. ', "strict": {...}').
xf_setup() {
	rm -rf "$XF"
	mkdir -p "$XF/denydir/sub" || fail "mkdir $XF"
	cp /bin/hello-static "$XF/denied" &&
		cp /bin/hello-static "$XF/allowed" &&
		cp /bin/busybox "$XF/sh" &&
		cp /bin/echo-dynamic "$XF/dyn-denied" || fail "cannot make the fixtures"
	cat >"$XF_POLICY" <<EOF
{
	"version": 1,
	"profiles": {
		"default": {
			$1
			"network": { "default": "allow" },
			"exec": {
				"deny": ["$XF/denied", "$XF/sh", "$XF/denydir", "$XF/dyn-denied"],
				"fileless": "deny"
			}
		}$2
	}
}
EOF
}

# xf_agent NAME: start agent NAME on $XF_POLICY with the BPF-LSM backend.
xf_agent() {
	agent_start "$1" --backend lsm --policy "$XF_POLICY" ||
		fail "agent --backend lsm did not start"
	grep '"type":"agent_start"' "$AGENT_OUT" | grep -q '"exec":{"mechanism":"lsm/' ||
		echo "# note: agent_start does not report an lsm/ exec mechanism: $(grep '"type":"agent_start"' "$AGENT_OUT")"
	[ -s "$AGENT_ERR" ] && { echo "# agent stderr:"; cat "$AGENT_ERR"; }
	return 0
}

# xf_bre STRING: STRING as a grep basic regex matching itself.
xf_bre() {
	printf '%s' "$1" | sed 's/[\.*^$[]/\\&/g'
}

# xf_run AGENT [--profile P] CMD [ARGS...]: "mcpwarden exec" through AGENT's
# socket like run_tracked, but in the background so that the server's pid
# (the interposer's child, which execs CMD: server_of) is known: sets
# XF_PID and XF_RC; output
# in /tmp/AGENT.cmd.out.
xf_run() {
	_xa=$1
	shift
	_xp=default
	if [ "$1" = --profile ]; then
		_xp=$2
		shift 2
	fi
	$MW exec --socket "/run/$_xa.sock" --profile "$_xp" -- "$@" \
		>"/tmp/$_xa.cmd.out" 2>&1 &
	XF_PID=$!
	wait "$XF_PID"
	XF_RC=$?
	XF_PID=$(server_of "$XF_PID" "$XF_RC")
}

# xf_event PID TEXT...: wait (10 s) for the agent line of server PID that
# holds every TEXT (literal strings); prints it. On timeout shows the exec
# events the agent did write and returns non-zero.
xf_event() {
	_ep=$1
	shift
	_en=$#
	for _t in "$@"; do
		set -- "$@" "$(xf_bre "$_t")"
	done
	shift "$_en"
	wait_for_event "$AGENT_OUT" 10 "$@" \
		"\"mcp_server\":{\"profile\":\"[^\"]*\",\"pid\":$_ep," && return 0
	echo "# no event of server $_ep with: $*"
	echo "# the agent's exec events:"
	grep -e '"process_exec"' -e '"file_mmap"' "$AGENT_OUT" | sed 's/^/#   /'
	return 1
}

# xf_refused AGENT MARK TYPE HOOK RULE PATH CMD [ARGS...]: CMD run tracked
# must not print MARK, must fail, and must yield a deny event of TYPE from
# HOOK with RULE and exec.path PATH ("-": any) for its server; the same CMD
# run untracked must print MARK.
xf_refused() {
	_ra=$1 _rm=$2 _rt=$3 _rh=$4 _rr=$5 _rp=$6
	shift 6
	xf_run "$_ra" "$@"
	_rout=$(cat "/tmp/$_ra.cmd.out")
	echo "# tracked: $* -> status $XF_RC: $_rout"
	case "$_rout" in *"$_rm"*) fail "tracked $*: the denied binary ran: $_rout" ;; esac
	[ "$XF_RC" != 0 ] || fail "tracked $*: status 0"
	if [ "$_rp" = - ]; then
		set -- "\"type\":\"$_rt\"" '"action":"deny"' "\"hook\":\"$_rh\"" \
			"\"rule\":\"$_rr\""
	else
		set -- "\"type\":\"$_rt\"" '"action":"deny"' "\"hook\":\"$_rh\"" \
			"\"rule\":\"$_rr\"" "\"path\":\"$_rp\""
	fi
	XF_EV=$(xf_event "$XF_PID" "$@") || {
		echo "$XF_EV"
		fail "no $_rt deny event from $_rh with rule $_rr for server $XF_PID"
	}
	echo "# event: $XF_EV"
}

# xf_untracked MARK CMD [ARGS...]: CMD run by this (untracked) shell prints MARK.
xf_untracked() {
	_um=$1
	shift
	_uout=$("$@" 2>&1)
	_urc=$?
	echo "# untracked: $* -> status $_urc: $_uout"
	case "$_uout" in *"$_um"*) ;; *) fail "untracked $*: did not run (status $_urc): $_uout" ;; esac
}

# xf_field LINE KEY: the integer value of "process":{..."KEY": in an event.
xf_field() {
	echo "$1" | sed -n "s/.*\"process\":{[^}]*\"$2\":\([0-9]*\).*/\1/p"
}

XF_DENIED_RULE="profiles.default.exec.deny[0] ($XF/denied)"
XF_SH_RULE="profiles.default.exec.deny[1] ($XF/sh)"
XF_DIR_RULE="profiles.default.exec.deny[2] ($XF/denydir)"
XF_DYN_RULE="profiles.default.exec.deny[3] ($XF/dyn-denied)"
XF_BPRM=lsm/bprm_check_security

# A denied binary by its path; an unlisted copy of it runs.
case_exec_fence_deny_path() {
	m=xfpath$$
	xf_setup
	xf_agent p
	xf_refused p "$m" process_exec $XF_BPRM "$XF_DENIED_RULE" "$XF/denied" \
		"$XF/denied" "$m"
	# EACCES, as a mode bit gives (Node's spawn() throws on EPERM); the
	# wrapper names the rule first; the event has the refused call's argv.
	grep -q "\"$XF/denied\": Permission denied" /tmp/p.cmd.out ||
		fail "tracked: not EACCES: $(cat /tmp/p.cmd.out)"
	grep -qF "refuses the exec of \"$XF/denied\": $XF_DENIED_RULE" /tmp/p.cmd.out ||
		fail "the wrapper did not name the rule: $(cat /tmp/p.cmd.out)"
	case "$XF_EV" in *"\"args\":[\"$XF/denied\",\"$m\"]"*) ;; *)
		fail "no exec.args in the refusal: $XF_EV" ;; esac
	xf_untracked "$m" "$XF/denied" "$m"
	xf_run p "$XF/allowed" "$m-ok"
	[ "$XF_RC" = 0 ] && grep -q "^hello-static $m-ok\$" /tmp/p.cmd.out ||
		fail "tracked unlisted copy: status $XF_RC: $(cat /tmp/p.cmd.out)"
	agent_stop || fail "agent did not stop cleanly"
}

# The denied inode through a symlink, a hard link, a relative path.
case_exec_fence_symlink_hardlink_relative() {
	m=xflink$$
	xf_setup
	ln -s "$XF/denied" "$XF/sym" && ln "$XF/denied" "$XF/hard" ||
		fail "cannot make the links"
	xf_agent l
	xf_refused l "$m-sym" process_exec $XF_BPRM "$XF_DENIED_RULE" "$XF/denied" \
		"$XF/sym" "$m-sym"
	xf_untracked "$m-sym" "$XF/sym" "$m-sym"
	xf_refused l "$m-hard" process_exec $XF_BPRM "$XF_DENIED_RULE" "$XF/hard" \
		"$XF/hard" "$m-hard"
	xf_untracked "$m-hard" "$XF/hard" "$m-hard"
	cd "$XF" || fail "cd $XF"
	xf_refused l "$m-rel" process_exec $XF_BPRM "$XF_DENIED_RULE" "$XF/denied" \
		./denied "$m-rel"
	xf_untracked "$m-rel" ./denied "$m-rel"
	cd / || fail "cd /"
	agent_stop || fail "agent did not stop cleanly"
}

# execveat(fd, "", AT_EMPTY_PATH) on an O_PATH fd of the denied binary.
case_exec_fence_execveat_fd() {
	m=xffd$$
	xf_setup
	xf_agent e
	xf_refused e "$m" process_exec $XF_BPRM "$XF_DENIED_RULE" "$XF/denied" \
		/bin/fexec "$XF/denied" "$m"
	grep -q 'execveat .*errno' /tmp/e.cmd.out ||
		fail "fexec did not report a failed execveat: $(cat /tmp/e.cmd.out)"
	xf_untracked "$m" /bin/fexec "$XF/denied" "$m"
	agent_stop || fail "agent did not stop cleanly"
}

# A script (not listed) whose interpreter is denied: the second binfmt pass.
case_exec_fence_script_interpreter_denied() {
	m=xfscript$$
	xf_setup
	printf '#!%s\necho %s\n' "$XF/sh" "$m" >"$XF/script" &&
		chmod 0755 "$XF/script" || fail "cannot write the script"
	xf_agent s
	xf_refused s "$m" process_exec $XF_BPRM "$XF_SH_RULE" "$XF/sh" \
		"$XF/script"
	xf_untracked "$m" "$XF/script"
	agent_stop || fail "agent did not stop cleanly"
}

# Copies of an allowed binary under a denied directory: in it, in a
# subdirectory, and in a subdirectory made after the agent started (the host
# needs the SIGKILL backstop for that one; the LSM walks the ancestors).
case_exec_fence_denied_directory() {
	m=xfdir$$
	xf_setup
	cp /bin/hello-static "$XF/denydir/hs" &&
		cp /bin/hello-static "$XF/denydir/sub/hs" || fail "cannot copy"
	xf_agent d
	mkdir "$XF/denydir/late" && cp /bin/hello-static "$XF/denydir/late/hs" ||
		fail "cannot copy into a new subdirectory"
	for sub in "" /sub /late; do
		b=$XF/denydir$sub/hs
		xf_refused d "$m$sub" process_exec $XF_BPRM "$XF_DIR_RULE" "$b" \
			"$b" "$m$sub"
		xf_untracked "$m$sub" "$b" "$m$sub"
	done
	agent_stop || fail "agent did not stop cleanly"
}

# A child and a grandchild of the server exec the denied binary; the server
# goes on.
case_exec_fence_children() {
	m=xfkids$$
	xf_setup
	xf_agent c
	cmd="$XF/denied $m-child; /bin/sh -c '$XF/denied $m-grandchild; true'; echo $m-done"
	xf_run c /bin/sh -c "$cmd"
	out=$(cat /tmp/c.cmd.out)
	echo "# tracked: sh -c \"$cmd\" -> status $XF_RC: $out"
	case "$out" in *"$m-child"* | *"$m-grandchild"*)
		fail "a denied binary ran: $out" ;; esac
	case "$out" in *"$m-done"*) ;; *) fail "the server did not go on: $out" ;; esac
	srv=$XF_PID
	kid=$(xf_event "$srv" '"type":"process_exec"' '"action":"deny"' \
		"\"hook\":\"$XF_BPRM\"" "\"rule\":\"$XF_DENIED_RULE\"" \
		"\"ppid\":$srv,") || {
		echo "$kid"
		fail "no deny event for the child (ppid $srv)"
	}
	echo "# child: $kid"
	i=0
	while :; do
		gk=$(lines_matching "$AGENT_OUT" '"type":"process_exec"' '"action":"deny"' \
			'"hook":"lsm/bprm_check_security"' \
			"$(xf_bre "\"rule\":\"$XF_DENIED_RULE\"")" \
			"\"mcp_server\":{\"profile\":\"default\",\"pid\":$srv," |
			grep -v "\"ppid\":$srv," | head -n 1)
		[ -n "$gk" ] || [ $i -ge 100 ] && break
		sleep 0.1
		i=$((i + 1))
	done
	[ -n "$gk" ] || {
		grep '"process_exec"' "$AGENT_OUT" | sed 's/^/#   /'
		fail "no deny event for the grandchild (ppid other than $srv)"
	}
	echo "# grandchild: $gk"
	# Its parent is the inner sh, itself a child of the server.
	gp=$(xf_field "$gk" ppid)
	gpid=$(xf_field "$gk" pid)
	kpid=$(xf_field "$kid" pid)
	echo "# server $srv, child $kpid, grandchild $gpid (parent $gp)"
	[ -n "$gp" ] && [ -n "$gpid" ] && [ "$gp" != "$srv" ] && [ "$gpid" != "$srv" ] &&
		[ "$gpid" != "$kpid" ] && [ "$kpid" != "$srv" ] ||
		fail "events: child/grandchild pids not below the server"
	xf_untracked "$m-grandchild" /bin/sh -c "$cmd"
	agent_stop || fail "agent did not stop cleanly"
}

# A fileless exec: a static binary copied into a memfd and run from it.
case_exec_fence_fileless_memfd() {
	m=xfmemfd$$
	xf_setup
	xf_agent m
	xf_refused m "$m" process_exec $XF_BPRM profiles.default.exec.fileless - \
		/bin/memfd-exec /bin/hello-static "$m"
	echo "$XF_EV" | grep -q '"fileless":true' || fail "no \"fileless\":true in the event"
	grep -q 'execveat: errno' /tmp/m.cmd.out ||
		fail "memfd-exec did not report a failed execveat: $(cat /tmp/m.cmd.out)"
	xf_untracked "$m" /bin/memfd-exec /bin/hello-static "$m"
	agent_stop || fail "agent did not stop cleanly"
}

# The loader trick: "ld.so DENIED" maps the binary without exec'ing it;
# lsm/mmap_file refuses the executable mapping. The loader, libc and an
# unlisted dynamic binary still work tracked.
case_exec_fence_loader_trick() {
	m=xfld$$
	xf_setup
	xf_agent t
	xf_run t "$XF_LD" /bin/echo-dynamic "$m-ok"
	[ "$XF_RC" = 0 ] && grep -q "^$m-ok\$" /tmp/t.cmd.out ||
		fail "tracked ld.so /bin/echo-dynamic: status $XF_RC: $(cat /tmp/t.cmd.out)"
	xf_refused t "$m" file_mmap lsm/mmap_file "$XF_DYN_RULE" "$XF/dyn-denied" \
		"$XF_LD" "$XF/dyn-denied" "$m"
	xf_untracked "$m" "$XF_LD" "$XF/dyn-denied" "$m"
	# Exec'd directly it is an ordinary denied exec.
	xf_refused t "$m-direct" process_exec $XF_BPRM "$XF_DYN_RULE" "$XF/dyn-denied" \
		"$XF/dyn-denied" "$m-direct"
	xf_untracked "$m-direct" "$XF/dyn-denied" "$m-direct"
	agent_stop || fail "agent did not stop cleanly"
}

# An allow-list through the wrapper (--profile strict): the wrapper adds a
# Landlock execute rule set and the LSM refuses unlisted binaries; either
# way the unlisted binary must not run, the listed ones must.
case_exec_fence_allowlist_wrapper() {
	m=xfallow$$
	xf_setup '' ', "strict": {
			"network": { "default": "allow" },
			"exec": { "allow": ["/bin/busybox", "'"$XF"'/allowed"] }
		}'
	xf_agent w
	cmd="$XF/allowed $m-ok; /bin/hello-static $m-no; echo $m-done"
	xf_run w --profile strict /bin/sh -c "$cmd"
	out=$(cat /tmp/w.cmd.out)
	echo "# tracked (strict): sh -c \"$cmd\" -> status $XF_RC: $out"
	case "$out" in *"hello-static $m-ok"*) ;; *) fail "the listed binary did not run: $out" ;; esac
	case "$out" in *"$m-no"*) fail "the unlisted binary ran: $out" ;; esac
	case "$out" in *"$m-done"*) ;; *) fail "the server did not go on: $out" ;; esac
	case "$out" in *Landlock*) echo "# note: the wrapper could not apply Landlock" ;; esac
	ev=$(lines_matching "$AGENT_OUT" '"type":"process_exec"' '"action":"deny"' \
		"\"pid\":$XF_PID,")
	echo "# deny events for server $XF_PID (none if Landlock refused first): ${ev:-none}"
	xf_untracked "$m-no" /bin/hello-static "$m-no"
	agent_stop || fail "agent did not stop cleanly"
}

# An allow-list on an auto-detected server (no wrapper, no Landlock): the
# LSM alone refuses the unlisted binary, with rule "exec.allow (not listed)".
case_exec_fence_allowlist_detected() {
	m=xfdet$$
	xf_setup '' ', "strictd": {
			"select": { "detect": ["strict-mcp-*"] },
			"network": { "default": "allow" },
			"exec": { "allow": ["/bin/busybox", "'"$XF"'/allowed"] }
		}'
	printf '#!/bin/sh\n%s %s-ok\n/bin/hello-static %s-no\necho %s-done\n' \
		"$XF/allowed" "$m" "$m" "$m" >"$XF/strict-mcp-demo" &&
		chmod 0755 "$XF/strict-mcp-demo" || fail "cannot write the server"
	xf_agent a
	"$XF/strict-mcp-demo" >/tmp/a.srv.out 2>&1 &
	srv=$!
	wait "$srv"
	rc=$?
	out=$(cat /tmp/a.srv.out)
	echo "# detected server $srv: status $rc: $out"
	case "$out" in *"hello-static $m-ok"*) ;; *) fail "the listed binary did not run: $out" ;; esac
	case "$out" in *"$m-no"*) fail "the unlisted binary ran: $out" ;; esac
	case "$out" in *"$m-done"*) ;; *) fail "the server did not go on: $out" ;; esac
	ev=$(xf_event "$srv" '"type":"process_exec"' '"action":"deny"' \
		"\"hook\":\"$XF_BPRM\"" '"rule":"profiles.strictd.exec.allow (not listed)"' \
		'"path":"/bin/hello-static"' '"source":"detect"') || {
		echo "$ev"
		fail "no allow-list deny event for the detected server $srv"
	}
	echo "# event: $ev"
	agent_stop || fail "agent did not stop cleanly"
}

# Monitor mode: the denied binary runs, the event says audit.
case_exec_fence_monitor_mode() {
	m=xfmon$$
	xf_setup '"mode": "monitor",'
	xf_agent o
	xf_run o "$XF/denied" "$m"
	grep -q "^hello-static $m\$" /tmp/o.cmd.out ||
		fail "monitor mode must not block: status $XF_RC: $(cat /tmp/o.cmd.out)"
	ev=$(xf_event "$XF_PID" '"type":"process_exec"' '"action":"audit"' \
		"\"hook\":\"$XF_BPRM\"" "\"rule\":\"$XF_DENIED_RULE\"" \
		"\"path\":\"$XF/denied\"") || {
		echo "$ev"
		fail "no audit event"
	}
	echo "# event: $ev"
	agent_stop || fail "agent did not stop cleanly"
}

# The denied binary replaced by a rename (a new inode, as dpkg does): the
# agent reloads and fences the new inode.
case_exec_fence_replaced_binary() {
	m=xfrepl$$
	xf_setup
	xf_agent r
	n=$(grep -c '"type":"policy_load"' "$AGENT_OUT")
	cp /bin/hello-static "$XF/denied.new" && mv "$XF/denied.new" "$XF/denied" ||
		fail "cannot replace $XF/denied"
	i=0
	while [ "$(grep -c '"type":"policy_load"' "$AGENT_OUT")" -le "$n" ]; do
		[ $i -ge 100 ] && fail "no policy_load after the rename (had $n)"
		sleep 0.1
		i=$((i + 1))
	done
	echo "# reloaded after ${i}00 ms"
	xf_refused r "$m" process_exec $XF_BPRM "$XF_DENIED_RULE" "$XF/denied" \
		"$XF/denied" "$m"
	xf_untracked "$m" "$XF/denied" "$m"
	agent_stop || fail "agent did not stop cleanly"
}

# With an agent fencing all of the above, an untracked process runs every
# one of them untouched, and the agent reports nothing for it.
case_exec_fence_untracked_untouched() {
	m=xfuntr$$
	xf_setup
	printf '#!%s\necho %s-script\n' "$XF/sh" "$m" >"$XF/script" &&
		chmod 0755 "$XF/script" && cp /bin/hello-static "$XF/denydir/sub/hs" ||
		fail "cannot write the fixtures"
	xf_agent u
	xf_untracked "$m-path" "$XF/denied" "$m-path"
	xf_untracked "$m-fd" /bin/fexec "$XF/denied" "$m-fd"
	xf_untracked "$m-script" "$XF/script"
	xf_untracked "$m-dir" "$XF/denydir/sub/hs" "$m-dir"
	xf_untracked "$m-memfd" /bin/memfd-exec /bin/hello-static "$m-memfd"
	xf_untracked "$m-ld" "$XF_LD" "$XF/dyn-denied" "$m-ld"
	xf_untracked "$m-kids" /bin/sh -c "/bin/sh -c '$XF/denied $m-kids; true'"
	# A tracked refusal after them: the agent was fencing all along, and
	# its events are written by now.
	xf_refused u "$m-t" process_exec $XF_BPRM "$XF_DENIED_RULE" "$XF/denied" \
		"$XF/denied" "$m-t"
	ev=$(grep -e '"file_mmap"' -e '"action":"deny"' -e '"action":"kill"' \
		-e '"action":"audit"' "$AGENT_OUT" | grep -v "\"pid\":$XF_PID,")
	[ -z "$ev" ] || fail "events for untracked processes: $ev"
	agent_stop || fail "agent did not stop cleanly"
}

# The built-in policy, whose exec.deny lists /bin/nc: here /bin/nc is a
# symlink to busybox, as on Alpine. The rule denies the nc applet by every
# route to it (the symlink, a hard link of busybox named nc, "busybox nc",
# "busybox busybox nc", the shell running it), killed at sched_process_exec
# before it runs (BPF-LSM cannot read argv at bprm_check_security); the
# other applets, sh, cat and ls, still run for the tracked server.
case_exec_fence_busybox_applets() {
	m=xfbb$$
	rm -rf /root/bb
	mkdir -p /root/bb && ln /bin/busybox /root/bb/nc &&
		echo "$m-file" >/root/bb/f || fail "cannot make the fixtures"
	agent_start bb --backend lsm || fail "agent on the built-in policy did not start"
	rule='profiles.default.exec.deny[6] (/bin/nc)'
	for route in "/bin/nc --help" "/root/bb/nc --help" "/bin/busybox nc --help" \
		"/bin/busybox busybox nc --help" "/bin/sh -c nc_--help"; do
		# shellcheck disable=SC2086
		set -- $route
		[ "$1" = /bin/sh ] && set -- /bin/sh -c "nc --help; echo rc=\$?"
		xf_run bb "$@"
		out=$(cat /tmp/bb.cmd.out)
		echo "# tracked: $* -> status $XF_RC: $out"
		case "$out" in *"Usage: nc"*)
			grep "\"pid\":$XF_PID," "$AGENT_OUT" | sed 's/^/# event: /'
			fail "tracked $*: the nc applet ran: $out" ;; esac
		ev=$(xf_event "$XF_PID" '"type":"process_exec"' '"action":"kill"' \
			'"hook":"raw_tp/sched_process_exec"' "\"rule\":\"$rule\"") || {
			echo "$ev"
			fail "no kill event with $rule for $* (server $XF_PID)"
		}
		out=$("$@" 2>&1)
		case "$out" in *"Usage: nc"*) ;; *) fail "untracked $*: the applet did not run: $out" ;; esac
	done
	xf_run bb /bin/sh -c "echo $m-sh"
	[ "$XF_RC" = 0 ] && grep -q "$m-sh" /tmp/bb.cmd.out ||
		fail "tracked sh applet: status $XF_RC: $(cat /tmp/bb.cmd.out)"
	xf_run bb /bin/cat /root/bb/f
	[ "$XF_RC" = 0 ] && grep -q "$m-file" /tmp/bb.cmd.out ||
		fail "tracked cat applet: status $XF_RC: $(cat /tmp/bb.cmd.out)"
	xf_run bb /bin/ls /root/bb
	[ "$XF_RC" = 0 ] && grep -qx nc /tmp/bb.cmd.out ||
		fail "tracked ls applet: status $XF_RC: $(cat /tmp/bb.cmd.out)"
	agent_stop || fail "agent did not stop cleanly"
	rm -rf /root/bb
}

# Detection reads the first MW_DETECT_ARGS elements of argv: a server with
# many arguments after its name (a filesystem server given 20 directories)
# is still detected on 6.1, whose verifier treats bpf_loop() callbacks
# differently from 6.18's (bpf/exec_late.bpf.h).
case_exec_fence_detected_with_many_args() {
	m=xfmany$$
	xf_setup '' ', "strictd": {
			"select": { "detect": ["strict-mcp-*"] },
			"network": { "default": "allow" },
			"exec": { "allow": ["/bin/busybox"] }
		}'
	printf '#!/bin/sh\n/bin/hello-static %s-no\necho %s-done\n' "$m" "$m" \
		>"$XF/strict-mcp-many" && chmod 0755 "$XF/strict-mcp-many" ||
		fail "cannot write the server"
	xf_agent d
	"$XF/strict-mcp-many" a1 a2 a3 a4 a5 a6 a7 a8 a9 a10 a11 a12 a13 a14 \
		a15 a16 a17 a18 a19 a20 >/tmp/d.srv.out 2>&1 &
	srv=$!
	wait "$srv"
	out=$(cat /tmp/d.srv.out)
	echo "# detected server $srv: $out"
	case "$out" in *"$m-no"*) fail "not detected: the unlisted binary ran: $out" ;; esac
	case "$out" in *"$m-done"*) ;; *) fail "the server did not go on: $out" ;; esac
	agent_stop || fail "agent did not stop cleanly"
}
