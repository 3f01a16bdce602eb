// SPDX-License-Identifier: GPL-2.0-only
#include <string.h>

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
	{ "~/.config/git/credentials", "git credential store (its XDG place)" },
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

/*
 * Files that run code for the user later, outside any fence: shell start
 * files, autostart and systemd user units, git's and editors' own config
 * (hooks, aliases, autocommands), the dynamic loader's preload, cron and
 * system units. A server may read them; files.readonly refuses writes.
 */
static const struct pathset_entry persistence[] = {
	{ "~/.bashrc", "bash start file" },
	{ "~/.bash_profile", "bash login start file" },
	{ "~/.bash_login", "bash login start file" },
	{ "~/.bash_logout", "bash logout file" },
	{ "~/.profile", "login shell start file" },
	{ "~/.zshrc", "zsh start file" },
	{ "~/.zshenv", "zsh start file (every zsh)" },
	{ "~/.zprofile", "zsh login start file" },
	{ "~/.zlogin", "zsh login start file" },
	{ "~/.config/fish", "fish configuration and functions" },
	{ "~/.pam_environment", "environment at login" },
	{ "~/.config/environment.d", "systemd user environment" },
	{ "~/.xinitrc", "X session start" },
	{ "~/.xprofile", "X session start" },
	{ "~/.config/autostart", "desktop session autostart" },
	{ "~/.config/systemd/user", "systemd user units" },
	{ "~/.local/share/systemd/user", "systemd user units" },
	{ "~/.local/share/applications", "desktop entries (what a click runs)" },
	{ "~/.gitconfig", "git configuration: aliases, hooksPath, fsmonitor" },
	{ "~/.config/git", "git configuration" },
	{ "~/.vimrc", "vim start file" },
	{ "~/.config/nvim", "neovim configuration" },
	{ "~/.emacs", "emacs start file" },
	{ "~/.emacs.d", "emacs configuration" },
	{ "/etc/ld.so.preload", "libraries preloaded into every program" },
	{ "/etc/profile", "login shell start file" },
	{ "/etc/profile.d", "login shell start files" },
	{ "/etc/bash.bashrc", "bash start file" },
	{ "/etc/crontab", "cron table" },
	{ "/etc/cron.d", "cron tables" },
	{ "/var/spool/cron", "users' cron tables" },
	{ "/etc/systemd/system", "systemd system units" },
	{ "/etc/sudoers", "sudo rules" },
	{ "/etc/sudoers.d", "sudo rules" },
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
	{ "/run/user/{uid}/docker.sock", "rootless Docker Engine API" },
	{ "/run/user/{uid}/podman/podman.sock", "rootless Podman API" },
};

/*
 * Daemons that run a command, type into a terminal or sign with a key for
 * whoever connects: a tracked server must not act through them. A
 * directory covers the sockets directly in it.
 */
static const struct pathset_entry command_runners[] = {
	{ "/tmp/tmux-{uid}", "tmux servers (send-keys, run-shell, new-window)" },
	{ "/run/user/{uid}/bus", "D-Bus session bus (systemd-run --user, any session service)" },
	{ "/run/dbus/system_bus_socket", "D-Bus system bus" },
	{ "/var/run/dbus/system_bus_socket", "D-Bus system bus (the /var/run spelling)" },
	{ "/run/user/{uid}/systemd", "the user's systemd manager (systemctl --user)" },
	{ "/run/systemd/private", "the system's systemd manager (systemctl as root)" },
	{ "/run/user/{uid}/gnupg", "gpg-agent (signing, and ssh keys it holds)" },
	{ "/run/user/{uid}/openssh_agent", "ssh-agent started by systemd --user" },
	{ "/run/user/{uid}/keyring", "GNOME Keyring (ssh agent, secrets)" },
	{ "/run/user/{uid}/gcr", "gcr ssh agent" },
	{ "/run/user/{uid}/emacs", "emacs server (emacsclient --eval)" },
	{ "/tmp/emacs{uid}", "emacs server (the /tmp spelling)" },
};

static const struct pathset sets[] = {
	{ "secrets", secrets, sizeof(secrets) / sizeof(secrets[0]) },
	{ "container_runtimes", container_runtimes,
	  sizeof(container_runtimes) / sizeof(container_runtimes[0]) },
	{ "persistence", persistence,
	  sizeof(persistence) / sizeof(persistence[0]) },
	{ "command_runners", command_runners,
	  sizeof(command_runners) / sizeof(command_runners[0]) },
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
