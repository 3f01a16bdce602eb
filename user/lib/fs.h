/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef MW_FS_H
#define MW_FS_H

/* The last component of @path (all of it without a '/'); NULL for NULL. */
const char *base_name(const char *path);

#endif /* MW_FS_H */
