/* SPDX-License-Identifier: GPL-2.0-only */
/* The built-in policy: policy/default.json, compiled into the binary. */
	.section .rodata
	.global mw_default_policy
	.global mw_default_policy_end
	.balign 8
mw_default_policy:
	.incbin "policy/default.json"
mw_default_policy_end:
	.byte 0
	.section .note.GNU-stack,"",@progbits
