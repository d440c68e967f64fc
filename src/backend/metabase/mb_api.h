/*
 * mb_api.h — the real Metabase client: implements struct mb_client_ops over
 * mb_http (transport), mb_auth (credentials) and mb_json (decoding).
 *
 * Ownership: the client borrows http and auth; they must outlive it.
 * Thread safety and blocking: see mb_client.h.
 */
#ifndef MBFS_MB_API_H
#define MBFS_MB_API_H

#include "mb_auth.h"
#include "mb_caps.h"
#include "mb_client.h"
#include "mb_http.h"

/* Until mb_api_set_caps() the client assumes the newest server. */
/* retries: how many times a transient failure (connection refused or
 * reset before the first byte, HTTP 502/503/504, 429) is retried, with
 * exponential backoff and jitter (Retry-After honoured). */
struct mb_client *mb_api_new(const char *url, struct mb_http *http,
			     struct mb_auth *auth, int retries);

/* Take the server's capability table (copied). Call once, after the
 * version probe and before the client is used by several threads. */
void mb_api_set_caps(struct mb_client *c, const struct mb_caps *caps);

#endif
