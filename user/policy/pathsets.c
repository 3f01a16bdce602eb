// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "lib/hostpath.h"
#include "policy/pathsets.h"

/*
 * Credentials and keys a compromised MCP server reads first (the "local MCP
 * server compromise" threat), and the MCP clients' own configuration files,
 * which hold the other servers' tokens. Directories cover what is beneath.
 */
static const struct pathset_entry secrets[] = {
	{ "~/.ssh", "OpenSSH keys, agent sockets, known hosts" },
	{ "~/.gnupg", "GnuPG keys" },
	{ "~/.aws", "AWS CLI and SDK credentials" },
	{ "~/.azure", "Azure CLI tokens" },
	{ "~/.config/gcloud", "Google Cloud SDK credentials" },
	{ "~/.kube", "kubeconfig" },
	{ "~/.docker/config.json", "Docker registry credentials" },
	{ "~/.netrc", "netrc logins (curl, git, ftp)" },
	{ "~/.git-credentials", "git credential store" },
	{ "~/.config/gh", "GitHub CLI tokens" },
	{ "~/.npmrc", "npm registry tokens" },
	{ "~/.pypirc", "PyPI upload tokens" },
	{ "~/.cargo/credentials.toml", "crates.io token" },
	{ "~/.terraform.d/credentials.tfrc.json", "Terraform Cloud token" },
	{ "~/.vault-token", "HashiCorp Vault token" },
	{ "~/.pgpass", "PostgreSQL passwords" },
	{ "~/.my.cnf", "MySQL client passwords" },
	{ "~/.password-store", "pass(1) password store" },
	{ "~/.local/share/keyrings", "GNOME keyring" },
	{ "~/.mozilla/firefox", "Firefox profiles: cookies, saved logins" },
	{ "~/.config/google-chrome", "Chrome profiles: cookies, saved logins" },
	{ "~/.config/chromium", "Chromium profiles: cookies, saved logins" },
	{ "~/.config/BraveSoftware", "Brave profiles: cookies, saved logins" },
	{ "~/.config/Claude/claude_desktop_config.json", "Claude Desktop MCP servers and their tokens" },
	{ "~/.claude.json", "Claude Code settings and MCP servers" },
	{ "~/.cursor/mcp.json", "Cursor MCP servers" },
	{ "~/.config/Code/User/mcp.json", "VS Code MCP servers" },
	{ "~/.codeium/windsurf/mcp_config.json", "Windsurf MCP servers" },
	{ "/etc/shadow", "local password hashes" },
	{ "/etc/gshadow", "group password hashes" },
	{ "/etc/ssh/ssh_host_rsa_key", "SSH host key" },
	{ "/etc/ssh/ssh_host_ecdsa_key", "SSH host key" },
	{ "/etc/ssh/ssh_host_ed25519_key", "SSH host key" },
	{ "/var/run/secrets/kubernetes.io/serviceaccount", "Kubernetes service-account token" },
	{ "/run/secrets", "Docker and Compose secrets" },
};

/* Container runtime API sockets: root on the node, one connect away. */
static const struct pathset_entry container_runtimes[] = {
	{ "/run/docker.sock", "Docker Engine API" },
	{ "/var/run/docker.sock", "Docker Engine API (the /var/run spelling)" },
	{ "/run/containerd/containerd.sock", "containerd API" },
	{ "/var/run/containerd/containerd.sock", "containerd API" },
	{ "/run/crio/crio.sock", "CRI-O API" },
	{ "/var/run/crio/crio.sock", "CRI-O API" },
	{ "/run/podman/podman.sock", "Podman API" },
};

static const struct pathset sets[] = {
	{ "secrets", secrets, sizeof(secrets) / sizeof(secrets[0]) },
	{ "container_runtimes", container_runtimes,
	  sizeof(container_runtimes) / sizeof(container_runtimes[0]) },
};

const struct pathset *pathsets_all(size_t *n)
{
	*n = sizeof(sets) / sizeof(sets[0]);
	return sets;
}

const struct pathset *pathsets_get(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
		if (!strcmp(sets[i].name, name))
			return &sets[i];
	return NULL;
}

int pathsets_homes(const char *passwd, char ***out, size_t *n)
{
	char line[1024], *f[7], *save, *p, **v = NULL, **tmp;
	struct stat st;
	size_t i, k;
	FILE *fp;

	*out = NULL;
	*n = 0;
	char hp[PATH_MAX];

	fp = fopen(passwd ? passwd : host_path("/etc/passwd", hp), "re");
	if (!fp)
		return -errno;
	while (fgets(line, sizeof(line), fp)) {
		line[strcspn(line, "\n")] = '\0';
		/* name:pw:uid:gid:gecos:home:shell; gecos may be empty */
		for (i = 0, p = line; i < 7; i++) {
			f[i] = p;
			p = p ? strchr(p, ':') : NULL;
			if (p)
				*p++ = '\0';
		}
		(void)save;
		if (!f[5] || f[5][0] != '/' || !strcmp(f[5], "/") ||
		    stat(host_path(f[5], hp), &st) || !S_ISDIR(st.st_mode))
			continue;
		for (k = 0; k < *n && strcmp(v[k], f[5]); k++)
			;
		if (k < *n)
			continue;
		tmp = realloc(v, (*n + 1) * sizeof(*v));
		if (!tmp || !(tmp[*n] = strdup(f[5]))) {
			if (tmp)
				v = tmp;
			for (k = 0; k < *n; k++)
				free(v[k]);
			free(v);
			fclose(fp);
			return -ENOMEM;
		}
		v = tmp;
		(*n)++;
	}
	fclose(fp);
	*out = v;
	return 0;
}
