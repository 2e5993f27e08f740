/*
 * otel-preload's parts: the launcher (otel-preload.c) dispatches to the doctor and the viewer.
 */
#ifndef OTELP_TOOLS_H
#define OTELP_TOOLS_H

/* otel-preload doctor PROGRAM: argv[0] is "doctor". Returns the exit status. */
int otelp_tool_doctor(int argc, char **argv);
/* otel-preload view FILE [--trace ID] [--html OUT]: argv[0] is "view". Returns the exit status. */
int otelp_tool_view(int argc, char **argv);

/*
 * The absolute path of libotelpreload.so (malloc'd): $OTEL_PRELOAD_LIBRARY, else next to the
 * launcher in the build tree, else the installed one; NULL with *why set to a malloc'd
 * explanation. Defined in otel-preload.c, also used by the doctor.
 */
char *otelp_tool_find_library(char **why);

#endif
