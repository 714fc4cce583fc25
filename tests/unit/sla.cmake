# Service calendars, incidents and the SLA engine (kf_server_core: calendar.c, incident.c, sla.c).
kf_unit_test(test_calendar kf_server_core)
kf_unit_test(test_sla kf_server_core)
