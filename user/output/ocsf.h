/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Native events (docs/events.md) as OCSF 1.1 events (docs/outputs.md has
 * the mapping table). Pure data in, data out: no I/O.
 */
#ifndef MW_OCSF_H
#define MW_OCSF_H

#include <linux/types.h>
#include <json-c/json.h>

#define OCSF_SCHEMA_VERSION	"1.1.0"

struct ocsf_ctx {
	const char *hostname;		/* device.hostname; NULL: left out */
	const char *version;		/* metadata.product.version */
};

/* A new OCSF object for @native (which is only read); NULL if out of memory. */
json_object *ocsf_from_native(json_object *native, const struct ocsf_ctx *c);
/* RFC 3339 UTC ("2026-11-26T10:09:57.591141683Z") to epoch milliseconds. */
int ocsf_time_ms(const char *rfc3339, __s64 *ms);

#endif /* MW_OCSF_H */
