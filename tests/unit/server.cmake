# server/ suites: the store and the registry (kf_server_core).
kf_unit_test(test_store kf_store)
kf_unit_test(test_registry kf_store)
kf_unit_test(test_store_broker kf_store)
kf_unit_test(test_store_identity kf_store)
kf_unit_test(test_store_sla kf_kioskd kf_views) # fleet state, incidents and the SLA service
kf_unit_test(test_ackkeys kf_kioskd) # the ACK keys, derived once per device key
