# server/ suites: the store and the registry (kf_server_core).
kf_unit_test(test_store kf_server_core)
kf_unit_test(test_registry kf_server_core)
