/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * JSON paths ("profiles.x.network.deny[2]") and a locator that finds the line
 * of the raw text where the value at a path starts: json-c keeps no
 * positions. The scanner is standalone and safe on any input.
 */
#ifndef MW_JSONPOS_H
#define MW_JSONPOS_H

#include <stddef.h>

#define JPATH_MAX		16

struct jpath_elem {
	const char *key;	/* NULL: an array index */
	long index;
};

struct jpath {
	int depth;		/* may exceed JPATH_MAX: deeper elements dropped */
	struct jpath_elem e[JPATH_MAX];
};

void jpath_push_key(struct jpath *p, const char *key);
void jpath_push_index(struct jpath *p, long index);
void jpath_pop(struct jpath *p);
/* "a.b[2].c"; "(top level)" for the empty path. Unprintable bytes as '?'. */
void jpath_format(const struct jpath *p, char *buf, size_t len);

/* The 1-based line of byte @off of @text. */
unsigned long jsonpos_offset_line(const char *text, size_t len, size_t off);
/*
 * The line where the value at @path starts; where the path leaves the
 * document, the line of the deepest value found on the way (1 at worst).
 */
unsigned long jsonpos_line(const char *text, size_t len,
			   const struct jpath *path);
/*
 * Find an object holding the same key twice. Returns 1 and fills @path (the
 * object's path), @key and @line (of the second occurrence) if one exists,
 * 0 if none, -ENOMEM, or -EINVAL with @line where the scan stopped if @text
 * is not one well-formed JSON value (json-c lets a few things through, such
 * as single-quoted strings).
 */
int jsonpos_find_dup(const char *text, size_t len, char *path, size_t pathlen,
		     char *key, size_t keylen, unsigned long *line);

#endif /* MW_JSONPOS_H */
