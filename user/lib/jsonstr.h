/* SPDX-License-Identifier: GPL-2.0-only */
/* Bytes from the kernel (argv, paths, comm) as valid JSON strings. */
#ifndef MW_JSONSTR_H
#define MW_JSONSTR_H

#include <stddef.h>
#include <json-c/json.h>

/* Length of the valid UTF-8 sequence at @s (at most @len bytes), or 0. */
size_t utf8_seq_len(const unsigned char *s, size_t len);
/* NUL-separated argv bytes to a JSON array; invalid UTF-8 becomes U+FFFD. */
json_object *proc_args_json(const char *buf, size_t len);
/* A JSON string from bytes, invalid UTF-8 replaced with U+FFFD. */
json_object *json_string_bytes(const char *s, size_t len);
/* The string member @key of @o, or NULL (absent, or not a string). */
const char *json_get_str(json_object *o, const char *key);

#endif /* MW_JSONSTR_H */
