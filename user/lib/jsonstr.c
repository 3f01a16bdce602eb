// SPDX-License-Identifier: GPL-2.0-only
#include <stdlib.h>
#include <string.h>
#include "lib/jsonstr.h"

/* Length of the valid UTF-8 sequence at @s (at most @len bytes), or 0. */
size_t utf8_seq_len(const unsigned char *s, size_t len)
{
	size_t n, i;
	unsigned int cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n > len)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

json_object *json_string_bytes(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, o = 0, n;
	json_object *j;
	char *buf;

	for (i = 0; i < len; i += n) {
		n = utf8_seq_len(u + i, len - i);
		if (!n)
			break;
	}
	if (i >= len)
		return json_object_new_string_len(s, len);
	buf = malloc(len * 3 + 1);	/* each bad byte becomes 3 bytes */
	if (!buf)
		return NULL;
	for (i = 0; i < len; i += n) {
		n = utf8_seq_len(u + i, len - i);
		if (n) {
			memcpy(buf + o, s + i, n);
			o += n;
		} else {
			memcpy(buf + o, "\xef\xbf\xbd", 3);
			o += 3;
			n = 1;
		}
	}
	j = json_object_new_string_len(buf, o);
	free(buf);
	return j;
}

json_object *proc_args_json(const char *buf, size_t len)
{
	json_object *arr = json_object_new_array();
	size_t i = 0, start;

	if (!arr)
		return NULL;
	while (i < len) {
		start = i;
		while (i < len && buf[i])
			i++;
		json_object_array_add(arr, json_string_bytes(buf + start,
							     i - start));
		i++;	/* the NUL */
	}
	return arr;
}

const char *json_get_str(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}
