/*
 * options_url.c — owns what a server URL may look like (options.h):
 * the checks of mbfs_options_url_check (scheme, host, port, no
 * credentials, characters FUSE's fsname= would split on) and the
 * normalization of an API URL to its base.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "options.h"
#include "status.h"

/* Does the URL carry credentials ("https://user:secret@host/")? */
static bool url_has_userinfo(const char *u)
{
	const char *host = strstr(u, "://");
	if (!host)
		return false;
	host += 3;
	size_t len = strcspn(host, "/?#");
	const char *at = memchr(host, '@', len);
	return at != NULL;
}

/* Characters a base URL's path may hold: RFC 3986 unreserved, '%' (as
 * %XX), and the sub-delimiters and ':' '@' '/', except ',' (libfuse
 * splits -o fsname=URL at it: allow_other could be injected) and the
 * query and fragment starters ('?' '#': the API paths are appended). */
static bool path_char_ok(char c)
{
	return isalnum((unsigned char)c) || strchr("-._~!$&'()*+;=:@/", c);
}

bool mbfs_options_url_check(const char *u, char *why, size_t whysz)
{
	static const char *const form =
		"expected http[s]://host[:port][/path], without user:password@";
	size_t len = strlen(u);
	if (len > MBFS_URL_MAX) {
		snprintf(why, whysz,
			 "the server URL is %zu bytes long; at most %d are accepted",
			 len, MBFS_URL_MAX);
		return false;
	}
	char su[MBFS_URL_MAX * 4 + 1];
	mbfs_escape_text(u, su, sizeof su);
	if (url_has_userinfo(u)) {
		/* never echo it: it holds a secret */
		snprintf(why, whysz,
			 "credentials in the URL are not accepted (they would show in ps and in logs); use MBFS_USERNAME and MBFS_PASSWORD, -o password_file=, or the config file");
		return false;
	}
	const char *p;
	if (strncmp(u, "http://", 7) == 0)
		p = u + 7;
	else if (strncmp(u, "https://", 8) == 0)
		p = u + 8;
	else
		goto bad;
	size_t auth = strcspn(p, "/?#");
	size_t host = 0;
	if (auth && p[0] == '[') {
		const char *close = memchr(p, ']', auth);
		if (!close || close == p + 1)
			goto bad;
		for (const char *c = p + 1; c < close; c++)
			if (!strchr("0123456789abcdefABCDEF:.", *c))
				goto bad;
		host = (size_t)(close - p) + 1;
	} else {
		while (host < auth && (isalnum((unsigned char)p[host]) ||
				       p[host] == '.' || p[host] == '-' ||
				       p[host] == '_'))
			host++;
		if (host == 0)
			goto bad;
	}
	if (host < auth) {
		if (p[host] != ':' || host + 1 == auth || auth - host - 1 > 5)
			goto bad;
		unsigned long port = 0;
		for (size_t i = host + 1; i < auth; i++) {
			if (!isdigit((unsigned char)p[i]))
				goto bad;
			port = port * 10 + (unsigned long)(p[i] - '0');
		}
		if (port == 0 || port > 65535)
			goto bad;
	}
	for (const char *c = p + auth; *c; c++) {
		if (*c == '%' && isxdigit((unsigned char)c[1]) &&
		    isxdigit((unsigned char)c[2])) {
			c += 2;
			continue;
		}
		if (path_char_ok(*c))
			continue;
		if (*c == ',') {
			snprintf(why, whysz,
				 "'%s' is not a server URL: ',' is not accepted in it (mbfs passes the URL to FUSE as fsname=, where ',' separates mount options); write it as %%2C",
				 su);
		} else if (*c == '?' || *c == '#') {
			snprintf(why, whysz,
				 "'%s' is not a server URL: a base URL has no query ('?') or fragment ('#')",
				 su);
		} else if ((unsigned char)*c > ' ' && (unsigned char)*c < 0x7f) {
			snprintf(why, whysz,
				 "'%s' is not a server URL: '%c' is not accepted in it (percent-encode it as %%%02X)",
				 su, *c, (unsigned)(unsigned char)*c);
		} else {
			snprintf(why, whysz,
				 "'%s' is not a server URL: spaces, control characters and non-ASCII bytes are not accepted in it (percent-encode them)",
				 su);
		}
		return false;
	}
	return true;
bad:
	snprintf(why, whysz, "'%s' is not a server URL: %s", su, form);
	return false;
}

void mbfs_options_url_normalize(char *u)
{
	size_t ul = strlen(u);
	while (ul > 0 && u[ul - 1] == '/')
		u[--ul] = '\0';
	/* "/api" as the whole last path segment (not "host/myapi", and
	 * not the host of "http://api") */
	const char *path = strstr(u, "://");
	size_t path_at = path ? (size_t)(path - u) + 3 : 0;
	path_at += strcspn(u + path_at, "/");
	if (ul >= path_at + 4 && strcmp(u + ul - 4, "/api") == 0) {
		ul -= 4;
		u[ul] = '\0';
		while (ul > path_at && u[ul - 1] == '/')
			u[--ul] = '\0';
	}
}
