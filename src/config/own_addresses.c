/* SPDX-License-Identifier: Apache-2.0 */
/* The host's own addresses join the never-touch set (see config.h,
 * config_load): blocking the address the daemon listens on, or any address of
 * the host it runs on, would cut the operator off from it. Reads the
 * interfaces with getifaddrs(3); runs in the parent at start-up and in the CLI. */
#include <errno.h>
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "config/config.h"

/* Adds addr unless a protected prefix already covers it exactly. */
static int protect_once(governor_policy *p, const ip_prefix *ip) {
        for (size_t i = 0; i < p->n_protected_ips; i++)
                if (strcmp(p->protected_ips[i].text, ip->text) == 0)
                        return 0;
        return governor_policy_protect_ip(p, ip);
}

static int protect_text(governor_policy *p, const char *text) {
        ip_prefix ip;
        if (ip_prefix_parse(text, strlen(text), &ip) < 0)
                return -EINVAL;
        return protect_once(p, &ip);
}

int config_protect_own_addresses(bw_config *cfg) {
        int r = protect_text(&cfg->governor, cfg->listen_address);
        if (r < 0)
                return r;
        struct ifaddrs *list = NULL;
        if (getifaddrs(&list) < 0)
                return -errno;
        for (struct ifaddrs *i = list; i && r == 0; i = i->ifa_next) {
                if (!i->ifa_addr)
                        continue;
                ip_prefix ip = {0};
                char text[INET6_ADDRSTRLEN];
                if (i->ifa_addr->sa_family == AF_INET) {
                        const struct sockaddr_in *in = (const struct sockaddr_in *)i->ifa_addr;
                        if (!inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text)))
                                continue;
                } else if (i->ifa_addr->sa_family == AF_INET6) {
                        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)i->ifa_addr;
                        if (!inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text)))
                                continue;
                } else {
                        continue;
                }
                if (ip_prefix_parse(text, strlen(text), &ip) == 0)
                        r = protect_once(&cfg->governor, &ip);
        }
        freeifaddrs(list);
        return r;
}
