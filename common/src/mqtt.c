/* mqtt.c: process-wide setup for Paho MQTT clients (kf/mqtt.h). */
#include <kf/mqtt.h>

#include <MQTTAsync.h>
#include <openssl/crypto.h>

#include <kf/log.h>

void kf_mqtt_global_init(void)
{
    MQTTAsync_init_options io = MQTTAsync_init_options_initializer;

    if (OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL) != 1)
        kf_warn("openssl: init failed (its cleanup at exit may race Paho's threads)");
    io.do_openssl_init = 0;
    MQTTAsync_global_init(&io);
}
