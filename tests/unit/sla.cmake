# Service calendars, incidents and the SLA engine (kf_rules).
kf_unit_test(test_calendar kf_rules)
kf_unit_test(test_sla kf_rules)
kf_unit_test(test_usage kf_rules)
