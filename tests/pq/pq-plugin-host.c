/*
 * pq-plugin-host PLUGIN: not linked with libpq; loads the shared module PLUGIN (pq-plugin.c,
 * which is) with dlopen(RTLD_NOW | RTLD_LOCAL) and calls its plugin_run($PQALL_CONNINFO).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	const char *conninfo = getenv("PQALL_CONNINFO");

	if (argc != 2) {
		fprintf(stderr, "usage: pq-plugin-host PLUGIN.so\n");
		return 2;
	}
	void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		fprintf(stderr, "pq-plugin-host: dlopen %s: %s\n", argv[1], dlerror());
		return 1;
	}
	int (*run)(const char *) = (int (*)(const char *))dlsym(h, "plugin_run");

	if (!run) {
		fprintf(stderr, "pq-plugin-host: dlsym plugin_run: %s\n", dlerror());
		return 1;
	}
	int rc = run(conninfo ? conninfo : "");

	dlclose(h);
	return rc;
}
