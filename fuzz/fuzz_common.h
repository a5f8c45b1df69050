/* SPDX-License-Identifier: Apache-2.0 */
/* Shared pieces of the libFuzzer harnesses: a fixed clock and a fixed alert, so
 * every run of an input behaves the same. Fuzzing only; inputs are hostile. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "core/alert.h"

/* 2026-11-22T10:00:00Z */
#define FUZZ_NOW_MS 1795341600000LL

/* An alert with every kind of observable and a label "env"; parsed once, never
 * freed (it lives as long as the fuzzing process). */
const alert *fuzz_fixed_alert(void);

/* Aborts (a finding) when cond is false, naming what broke. */
void fuzz_check(int cond, const char *what);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
