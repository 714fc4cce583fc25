# kioskd suites (server/kioskd/).
kf_unit_test(test_config kf_kioskd)
kf_unit_test(test_pipeline kf_kioskd)
kf_unit_test(test_writer kf_kioskd) # the one queue of jobs on the store connection
# testproc.c: a free port, a mosquitto, children that die with the test (test_pipeline, test_link).
target_sources(test_pipeline PRIVATE unit/testproc.c)
# The end-to-end case runs the real daemon against a real mosquitto on a free loopback port.
add_dependencies(test_pipeline kioskd)
target_compile_definitions(test_pipeline PRIVATE KF_KIOSKD_BIN="$<TARGET_FILE:kioskd>"
                                                 KF_MOSQUITTO_BIN="/usr/sbin/mosquitto")
# server/link.c against a real mosquitto; MQTTAsync_connect is wrapped to count the calls.
kf_unit_test(test_link kf_kioskd)
target_sources(test_link PRIVATE unit/testproc.c)
target_link_options(test_link PRIVATE -Wl,--wrap=MQTTAsync_connect)
target_compile_definitions(test_link PRIVATE KF_MOSQUITTO_BIN="/usr/sbin/mosquitto")
