/* testfile.h: fixture files for the unit suites, read whole by the test (the rules library
 * reads no files): test_calendar, test_sla. */
#ifndef KF_TESTS_TESTFILE_H
#define KF_TESTS_TESTFILE_H

/* The whole of a small file as a NUL-terminated string, owned (free); asserts. */
char *kf_test_read_file(const char *path);

#endif
