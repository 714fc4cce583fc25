/* kf/record.h: the facts a terminal reports, and their JSON form.
 *
 * One record is one JSON object; a RECORDS frame's body is a JSON array of them, in
 * sequence order (record i has seq = header seq + i). Every field is checked: unknown
 * fields, wrong types, out-of-range values and over-long strings are errors (-EBADMSG).
 * The same parser serves the agent's app socket and the server's decoder, so what an
 * agent accepts is exactly what a server stores.
 *
 *   {"t":"txn","ts":<ms>,"item":"SB-003","outcome":"ok","dur_ms":93000}
 *   {"t":"health","ts":<ms>,"cpu_pm":153,"mem_total_kb":..,"mem_avail_kb":..,
 *    "disk_total_kb":..,"disk_avail_kb":..,"temp_mc":41000,"uptime_s":..,
 *    "net_rx":..,"net_tx":..,"net_up":true}          (temp_mc may be null: no sensor)
 *   {"t":"periph","ts":<ms>,"dev":"a4_printer","state":"paper_low"}
 *   {"t":"fault","ts":<ms>,"code":"PRN-JAM","sev":"critical","action":"raise",
 *    "dev":"receipt_printer","text":"paper jam at cutter"}   (dev and text optional)
 *   {"t":"maint","ts":<ms>,"state":"on","tech":"T-0042"}  (maintenance mode entered or left
 *    at the terminal by a technician; tech required with "on", optional with "off")
 *   {"t":"cmd_result","ts":<ms>,"cmd":"C-42","cmd_seq":7,"status":"done",
 *    "detail":"...","output":"..."}  (the agent's report of a server command; detail and
 *    output optional; never from the application)
 *
 * Any record may end with "app_id":"J-000123": the kiosk application's own id for it (its
 * journal number), unique per terminal. The agent answers a line whose app_id it has taken
 * before with the first answer and stores nothing; the server counts the first record with
 * an app_id and keeps any later one apart (docs/PROTOCOL.md section 7). Absent: "".
 *
 * ts is device time (UTC ms); for a txn it is the transaction's start. No personal data is
 * ever part of a record: there is no field that could carry it.
 */
#ifndef KF_RECORD_H
#define KF_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <kf/command.h>

#define KF_ITEM_CODE_MAX 16
#define KF_FAULT_CODE_MAX 24
#define KF_FAULT_TEXT_MAX 128
#define KF_TECH_ID_MAX 31       /* a technician's id, [A-Za-z0-9._:@-] */
#define KF_APP_ID_MAX 32        /* the application's own id for a record, [A-Za-z0-9._:/-] */
#define KF_RECORD_JSON_MAX 1024 /* one record's compact JSON, bytes */

enum kf_rec_type {
    KF_REC_TXN = 1,
    KF_REC_HEALTH = 2,
    KF_REC_PERIPH = 3,
    KF_REC_FAULT = 4,
    KF_REC_MAINT = 5,      /* maintenance mode at the terminal */
    KF_REC_CMD_RESULT = 6, /* the outcome of a server's command (kf/command.h) */
};

enum kf_outcome {
    KF_OUTCOME_OK = 1,
    KF_OUTCOME_FAILED = 2,
    KF_OUTCOME_ABANDONED = 3,
};

/* Peripherals (names on the wire in parentheses). */
enum kf_periph {
    KF_PERIPH_SCREEN = 1,      /* "screen": touch screen and display */
    KF_PERIPH_CARD_READER,     /* "card_reader": bank card reader */
    KF_PERIPH_ID_CARD_READER,  /* "id_card_reader": resident ID card reader */
    KF_PERIPH_RECEIPT_PRINTER, /* "receipt_printer" */
    KF_PERIPH_A4_PRINTER,      /* "a4_printer" */
    KF_PERIPH_CAMERA,          /* "camera" */
    KF_PERIPH_PIN_PAD,         /* "pin_pad" */
    KF_PERIPH_SCANNER,         /* "scanner" */
    KF_PERIPH_CASH_IN,         /* "cash_in": ITM cash acceptor */
    KF_PERIPH_CASH_OUT,        /* "cash_out": ITM dispenser */
    KF_PERIPH_COUNT_ = KF_PERIPH_CASH_OUT,
};

/* Peripheral states, in the spirit of CEN/XFS device status. */
enum kf_pstate {
    KF_PSTATE_ONLINE = 1, /* "online" */
    KF_PSTATE_OFFLINE,    /* "offline" */
    KF_PSTATE_POWER_OFF,  /* "power_off" */
    KF_PSTATE_HW_ERROR,   /* "hw_error" */
    KF_PSTATE_USER_ERROR, /* "user_error" */
    KF_PSTATE_PAPER_LOW,  /* "paper_low" */
    KF_PSTATE_PAPER_OUT,  /* "paper_out" */
    KF_PSTATE_MEDIA_JAM,  /* "media_jam" */
    KF_PSTATE_CASH_LOW,   /* "cash_low" */
    KF_PSTATE_CASH_OUT,   /* "cash_out" */
    KF_PSTATE_COUNT_ = KF_PSTATE_CASH_OUT,
};

enum kf_severity {
    KF_SEV_INFO = 1,     /* "info" */
    KF_SEV_MINOR = 2,    /* "minor" */
    KF_SEV_MAJOR = 3,    /* "major" */
    KF_SEV_CRITICAL = 4, /* "critical" */
};

struct kf_rec_txn {
    char item[KF_ITEM_CODE_MAX + 1]; /* service item code, [A-Z0-9-] */
    uint8_t outcome;                 /* enum kf_outcome */
    uint32_t dur_ms;                 /* 0 .. 24 h */
};

struct kf_rec_health {
    int32_t cpu_pm; /* CPU busy, per mille, 0..1000 */
    uint64_t mem_total_kb, mem_avail_kb;
    uint64_t disk_total_kb, disk_avail_kb;
    int32_t temp_mc; /* millidegrees C; KF_TEMP_NONE when no sensor */
    uint64_t uptime_s;
    uint64_t net_rx, net_tx; /* bytes since boot, all non-loopback interfaces */
    uint8_t net_up;
};
#define KF_TEMP_NONE INT32_MIN

struct kf_rec_periph {
    uint8_t periph; /* enum kf_periph */
    uint8_t state;  /* enum kf_pstate */
};

struct kf_rec_fault {
    char code[KF_FAULT_CODE_MAX + 1]; /* [A-Z0-9_-] */
    uint8_t sev;                      /* enum kf_severity */
    uint8_t raise;                    /* 1 raise, 0 clear */
    uint8_t periph;                   /* enum kf_periph, 0 when none */
    char text[KF_FAULT_TEXT_MAX + 1]; /* UTF-8, may be empty */
};

struct kf_rec_maint {
    uint8_t on;                    /* 1 "on" (entered), 0 "off" (left) */
    char tech[KF_TECH_ID_MAX + 1]; /* the technician; "" only with "off" */
};

/* The outcome of a COMMAND (kf/command.h), reported once by the agent that stored it. */
struct kf_rec_cmd_result {
    char cmd[KF_CMD_ID_MAX + 1];        /* the command's id */
    uint64_t cmd_seq;                   /* its per-device command seq, >= 1 */
    uint8_t status;                     /* enum kf_cmd_status */
    char detail[KF_CMD_DETAIL_MAX + 1]; /* UTF-8 without control characters; may be "" */
    char output[KF_CMD_OUTPUT_MAX + 1]; /* the same rule; a hook's output, may be "" */
};

struct kf_record {
    uint8_t type; /* enum kf_rec_type */
    int64_t ts_ms;
    char app_id[KF_APP_ID_MAX + 1]; /* "" when the record has none */
    union {
        struct kf_rec_txn txn;
        struct kf_rec_health health;
        struct kf_rec_periph periph;
        struct kf_rec_fault fault;
        struct kf_rec_maint maint;
        struct kf_rec_cmd_result cmd_result;
    } u;
};

/* Parse and validate one record object. Borrows obj. 0 or -EBADMSG. Any thread. */
int kf_record_from_json(const json_t *obj, struct kf_record *ret);

/* Why a record was refused, for the one who sent it (the app socket's bad_record reply):
 * the first field that failed and a few words on what it must be. field is the key as
 * given (at most KF_RECORD_FIELD_MAX bytes; a byte outside printable ASCII, '"' and '\\'
 * shows as '?'), "" when the object as a whole failed (not an object, too many fields);
 * why is a static string (nothing of the input in it), never NULL after a refusal. */
#define KF_RECORD_FIELD_MAX 15
struct kf_record_why {
    char field[KF_RECORD_FIELD_MAX + 1];
    const char *why;
};
/* kf_record_from_json, saying why on -EBADMSG (*why written only then; may be NULL). It
 * accepts and refuses exactly what kf_record_from_json does. */
int kf_record_from_json_why(const json_t *obj, struct kf_record *ret, struct kf_record_why *why);
/* Parse a JSON text of one record (e.g. an app-socket line), bounded by KF_RECORD_JSON_MAX. */
int kf_record_parse(const char *text, size_t len, struct kf_record *ret);
/* Canonical compact JSON for a record into buf (cap). Returns 0 and *ret_len, -EINVAL
 * (record invalid) or -EMSGSIZE. */
int kf_record_format(const struct kf_record *rec, char *buf, size_t cap, size_t *ret_len);

/* Parse a RECORDS body (JSON array of exactly expect_count records). Calls cb for each
 * in order (index 0..); stops at the first non-zero cb result and returns it.
 * Returns 0, -EBADMSG (not an array, wrong count, a bad record). The body is read in one
 * pass: cb may have been called for the first records of a body that then fails; a caller
 * that must not see those parses with cb NULL first. */
typedef int (*kf_record_cb)(void *ud, uint32_t index, const struct kf_record *rec);
int kf_records_parse(const char *body, size_t len, uint32_t expect_count, kf_record_cb cb,
                     void *ud);

/* Names on the wire <-> enums. *_name returns NULL for an out-of-range value;
 * *_parse returns 0 or -EINVAL. */
const char *kf_rec_type_name(int v);
const char *kf_outcome_name(int v);
const char *kf_periph_name(int v);
const char *kf_pstate_name(int v);
const char *kf_severity_name(int v);
int kf_rec_type_parse(const char *s, int *ret);
int kf_outcome_parse(const char *s, int *ret);
int kf_periph_parse(const char *s, int *ret);
int kf_pstate_parse(const char *s, int *ret);
int kf_severity_parse(const char *s, int *ret);

/* Is s a valid application id (1..KF_APP_ID_MAX of [A-Za-z0-9._:/-])? 1 or 0. */
int kf_record_app_id_ok(const char *s);

/* Is a peripheral state usable for service (online, paper_low, cash_low)? */
int kf_pstate_usable(int state);

#endif
