# Service calendars, incidents and the SLA engine (kf_rules).
kf_unit_test(test_calendar kf_rules)
kf_unit_test(test_sla kf_rules)
kf_unit_test(test_usage kf_rules)
# kf_test_read_file: the calendar fixtures are read by the test, the rules read no files.
target_sources(test_calendar PRIVATE unit/testfile.c)
target_sources(test_sla PRIVATE unit/testfile.c)
