/* SPDX-License-Identifier: Apache-2.0 */
/* The API token file (see cli_token.h). Runs in the CLI and the load generator. */
#include "cli/cli_token.h"

#include <errno.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "util/fileio.h"

int cli_token_read(const char *path, char *ret, size_t retlen, bw_error *err) {
        char *data = NULL;
        size_t len = 0;
        const char *why = NULL;
        int r = file_read_secret(path, BW_TOKEN_FILE_MAX, &data, &len, &why);
        if (r == -EPERM)
                bw_error_set(err, "insecure", "token_file", "%s: %s", path, why);
        else if (r == -EFBIG)
                bw_error_set(err, "too_large", "token_file", "%s is larger than %u bytes", path,
                             BW_TOKEN_FILE_MAX);
        else if (r < 0)
                bw_error_set(err, "unreadable", "token_file", "cannot read %s: %s", path, strerror(-r));
        if (r < 0)
                return r;
        size_t n = strcspn(data, "\n");
        if (n > 0 && data[n - 1] == '\r')
                n--;
        bool ok = n >= BW_TOKEN_MIN_LEN && n <= BW_TOKEN_MAX_LEN && n < retlen;
        for (size_t i = 0; ok && i < n; i++)
                ok = data[i] > 0x20 && data[i] < 0x7F;
        if (ok) {
                memcpy(ret, data, n);
                ret[n] = '\0';
        } else
                r = bw_error_set(err, "invalid", "token_file",
                                 "the first line of %s must be %u..%u printable characters", path,
                                 BW_TOKEN_MIN_LEN, BW_TOKEN_MAX_LEN);
        sodium_memzero(data, len);
        free(data);
        return r;
}
