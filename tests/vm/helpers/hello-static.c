// SPDX-License-Identifier: GPL-2.0-only
/* VM lane helper: prints "hello-static" and its arguments, exits 0. */
#include <stdio.h>

int main(int argc, char **argv)
{
	printf("hello-static");
	for (int i = 1; i < argc; i++)
		printf(" %s", argv[i]);
	printf("\n");
	return 0;
}
