// SPDX-License-Identifier: GPL-2.0-only
/*
 * The built-in address sets. Every entry names its source; docs/network-sets.md
 * lists the same entries and must change with them.
 */
#include <string.h>

#include "policy/sets.h"

/*
 * Cloud instance metadata and credential endpoints: the SSRF targets that hand
 * out instance credentials. Addresses only; DNS names (metadata.google.internal,
 * metadata.tencentyun.com, api.metadata.cloud.ibm.com) resolve to these.
 * NOT here: AWS's VPC DNS 169.254.169.253 / fd00:ec2::253 and NTP
 * 169.254.169.123 / fd00:ec2::123 (they hand out no credentials; the
 * "private" set still covers 169.254.0.0/16).
 */
static const struct set_entry set_metadata[] = {
	/* IPv4 link-local IMDS, shared by most clouds */
	{ "169.254.169.254/32",
	  "AWS EC2 IMDS (AWS EC2 user guide, instancedata-data-retrieval); "
	  "GCP (cloud-init DataSourceGCE.py); Azure IMDS (Microsoft Learn, "
	  "instance-metadata-service); Oracle OCI (OCI docs, gettingmetadata); "
	  "DigitalOcean, Hetzner, OpenStack (cloud-init DataSource files); "
	  "IBM Cloud VPC (IBM Cloud VPC metadata API docs)" },
	{ "169.254.170.2/32",
	  "AWS ECS task credentials (AWS ECS developer guide, "
	  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI)" },
	{ "169.254.170.23/32",
	  "AWS EKS Pod Identity agent (AWS EKS user guide, pod-id-agent-setup)" },
	{ "168.63.129.16/32",
	  "Azure WireServer, a public address (Microsoft Learn, "
	  "what-is-ip-address-168-63-129-16)" },
	{ "100.100.100.200/32",
	  "Alibaba Cloud ECS metadata (Alibaba Cloud ECS docs, view instance "
	  "metadata; cloud-init DataSourceAliYun.py)" },
	{ "192.0.0.192/32",
	  "Oracle Cloud Classic metadata (unverified: third-party lists only)" },
	{ "169.254.0.23/32",
	  "Tencent Cloud metadata (Tencent Cloud docs 213/4934)" },
	{ "169.254.42.42/32",
	  "Scaleway metadata (cloud-init DataSourceScaleway.py)" },
	/* IPv6 endpoints */
	{ "fd00:ec2::254/128",
	  "AWS EC2 IMDS over IPv6, Nitro (AWS EC2 user guide, "
	  "instancedata-data-retrieval; AWS whitepaper IPv6 on AWS)" },
	{ "fd00:ec2::23/128",
	  "AWS EKS Pod Identity agent over IPv6 (AWS EKS user guide, "
	  "pod-id-agent-setup)" },
	{ "fd20:ce::254/128",
	  "GCP metadata over IPv6 (unverified: third-party lists only)" },
	{ "fd00:c1::a9fe:a9fe/128",
	  "Oracle OCI metadata over IPv6 (OCI docs, gettingmetadata; "
	  "cloud-init DataSourceOracle.py)" },
	{ "fe80::a9fe:a9fe/128",
	  "OpenStack metadata over IPv6 (OpenStack Neutron IPv6 metadata; "
	  "cloud-init DataSourceOpenStack.py); Hetzner (unverified: "
	  "third-party lists only)" },
	{ "fd00:42::42/128",
	  "Scaleway metadata over IPv6 (cloud-init DataSourceScaleway.py)" },
	{ "fd00:a9fe:a9fe::1/128",
	  "Akamai / Linode metadata over IPv6 (cloud-init datasource docs, "
	  "Akamai; Akamai techdocs metadata-service-api)" },
};

/*
 * Non-global special-purpose ranges a server has no business reaching (IANA
 * IPv4 and IPv6 Special-Purpose Address Registries, plus multicast). Left
 * out on purpose: 127.0.0.0/8 and ::1 (the "loopback" set), and the
 * translation prefixes ::ffff:0:0/96, 64:ff9b::/96 and 2002::/16, which the
 * BPF side unwraps and judges as the IPv4 address they carry.
 */
static const struct set_entry set_private[] = {
	{ "0.0.0.0/8", "IANA IPv4 Special-Purpose Registry, RFC 791: \"this network\"" },
	{ "10.0.0.0/8", "IANA IPv4 Special-Purpose Registry, RFC 1918: private-use" },
	{ "100.64.0.0/10", "IANA IPv4 Special-Purpose Registry, RFC 6598: shared address space (CGNAT)" },
	{ "169.254.0.0/16", "IANA IPv4 Special-Purpose Registry, RFC 3927: link local" },
	{ "172.16.0.0/12", "IANA IPv4 Special-Purpose Registry, RFC 1918: private-use" },
	{ "192.0.0.0/24", "IANA IPv4 Special-Purpose Registry, RFC 6890: IETF protocol assignments" },
	{ "192.0.2.0/24", "IANA IPv4 Special-Purpose Registry, RFC 5737: documentation (TEST-NET-1)" },
	{ "192.88.99.0/24", "IANA IPv4 Special-Purpose Registry, RFC 7526: deprecated 6to4 relay anycast" },
	{ "192.168.0.0/16", "IANA IPv4 Special-Purpose Registry, RFC 1918: private-use" },
	{ "198.18.0.0/15", "IANA IPv4 Special-Purpose Registry, RFC 2544: benchmarking" },
	{ "198.51.100.0/24", "IANA IPv4 Special-Purpose Registry, RFC 5737: documentation (TEST-NET-2)" },
	{ "203.0.113.0/24", "IANA IPv4 Special-Purpose Registry, RFC 5737: documentation (TEST-NET-3)" },
	{ "224.0.0.0/4", "IANA IPv4 Multicast Address Space Registry, RFC 5771: multicast" },
	{ "240.0.0.0/4", "IANA IPv4 Special-Purpose Registry, RFC 1112: reserved, and 255.255.255.255/32 limited broadcast (RFC 919)" },
	{ "::/128", "IANA IPv6 Special-Purpose Registry, RFC 4291: unspecified address" },
	{ "64:ff9b:1::/48", "IANA IPv6 Special-Purpose Registry, RFC 8215: local-use IPv4/IPv6 translation" },
	{ "100::/64", "IANA IPv6 Special-Purpose Registry, RFC 6666: discard-only" },
	{ "2001::/23", "IANA IPv6 Special-Purpose Registry, RFC 2928: IETF protocol assignments (includes Teredo 2001::/32)" },
	{ "2001:db8::/32", "IANA IPv6 Special-Purpose Registry, RFC 3849: documentation" },
	{ "3fff::/20", "IANA IPv6 Special-Purpose Registry, RFC 9637: documentation" },
	{ "5f00::/16", "IANA IPv6 Special-Purpose Registry, RFC 9602: segment routing SIDs" },
	{ "fc00::/7", "IANA IPv6 Special-Purpose Registry, RFC 4193: unique local" },
	{ "fe80::/10", "IANA IPv6 Special-Purpose Registry, RFC 4291: link-local unicast" },
	{ "fec0::/10", "IANA IPv6 Address Space Registry, RFC 3879: deprecated site-local" },
	{ "ff00::/8", "IANA IPv6 Address Space Registry, RFC 4291: multicast" },
};

/*
 * Loopback. Note that denying it also denies local resolvers such as
 * systemd-resolved 127.0.0.53 and Docker's 127.0.0.11: the "nameservers"
 * set exists to allow those back on port 53.
 */
static const struct set_entry set_loopback[] = {
	{ "127.0.0.0/8", "IANA IPv4 Special-Purpose Registry, RFC 1122: loopback" },
	{ "::1/128", "IANA IPv6 Special-Purpose Registry, RFC 4291: loopback address" },
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const struct set_builtin builtins[] = {
	{ "metadata", "cloud instance metadata and credential endpoints",
	  set_metadata, ARRAY_SIZE(set_metadata) },
	{ "private", "non-global IANA special-purpose ranges",
	  set_private, ARRAY_SIZE(set_private) },
	{ "loopback", "loopback addresses",
	  set_loopback, ARRAY_SIZE(set_loopback) },
	{ "nameservers", "the nameserver lines of resolv.conf", NULL, 0 },
};

const struct set_builtin *sets_builtins(size_t *n)
{
	*n = ARRAY_SIZE(builtins);
	return builtins;
}

const struct set_builtin *sets_builtin(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(builtins); i++)
		if (!strcmp(builtins[i].name, name))
			return &builtins[i];
	return NULL;
}
