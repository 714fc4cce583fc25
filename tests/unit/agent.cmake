# agent/ suites: they link the agent's core library, as the binaries do.
kf_unit_test(test_outbox kf_agent)
kf_unit_test(test_probes kf_agent)
