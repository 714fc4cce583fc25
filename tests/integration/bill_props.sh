#!/usr/bin/env bash
# Properties of bills over generated months (docs/BILLING.md, "Properties over generated
# months"; issue 15): where worked_month.sh checks one hand-written month to the fen, this
# test generates months (bill_props.py: a seed gives a small fleet of one or two banks, their
# contract versions, commissioning and decommissioning, presence and fault facts, planned
# windows and the instants at which kioskd runs and technicians act), plays each one through
# the real programs, issues its bills after the close, and asserts for every bill:
#
#   - each asset's lease and maintenance lines are round(unit * days / period_days) for the
#     days it was in service under each version, split by the version's tax rule; an asset
#     in service all month under one version pays exactly that version's monthly fee;
#   - the lines sum to the totals exactly, per tax rate and overall (net, tax, gross); the
#     credits and penalties stay within the cap;
#   - a recompute is byte-identical: bill verify passes, two drafts at two instants after the
#     close are the same bytes, with the issued bill's lines and totals;
#   - kioskctl verify and audit verify pass, kf-bill-check says OK on the bill's bundle;
#   - single edits (bill_props.py edits), each on a fresh copy of the store: a fact, an
#     action or a planned window edited is found by kioskctl verify (exit 3); a fact or a
#     contract row edited is found by kf-bill-check on a fresh export of its bank's bill
#     (exit 1), and a contract edit that changes the bill by bill verify (exit 3).
#
# Three edits are unseen by design and counted apart (bill_props.py says why): a source
# written on a device fact's row (the store reads a source for presence facts only), a fact
# appended after the last one (one kioskd has not taken yet: its next run seals it), and a
# contract version in force on no day of the month deleted (no input of this month's bill).
#
# Seeds: KF_PROPS_SEEDS="1 2 3" runs those (ctest runs each default seed as its own test,
# it_bill_props_<seed>, two at a time beside the others). The default three were chosen so that together
# they hold two banks, kiosks and ITMs, a contract changing mid-month and one starting in it,
# an older version, prices with and without tax, assets in service all month, commissioning,
# decommissioning and recommissioning in the month, faults received late (after the month
# too), silent terminals, zone and terminal windows, acknowledgements, attributions, forced
# and refused resolves, credits, penalties and cap lines. A failure names its seed, and an
# edit's SQL.
#
# Two bugs this test found, fixed since and generated in every month (KF_PROPS_KNOWN_BUGS=0
# leaves them out): kioskd sealed an action with "terminal": "" when its incident was closed
# in the same engine run, so the bank's checker lost an attribution queued with a close and
# refused a correct bill (seeds 27, 40: the seal now names the terminal taken before the
# action is applied, server/kioskd/slasvc_run.c act_place); and kf-bill-check took the SLA
# terms only from the version in force on the month's last day, refusing a month whose
# contract ended earlier (seed 9: it now falls back to the latest version in force in the
# month, as the bill does, checker/check.c).
source "$(dirname "$0")/lib.sh"

GEN=$KF_ROOT/tests/integration/bill_props.py
SEEDS=${KF_PROPS_SEEDS:-"27 40 9"}
it_need_faketime

it_init 0
printf '[sla]\ncalendar_dir = %s\ntick_s = 1\n' "$KF_ROOT/fixtures/calendar" >>"$IT_DIR/kioskd.ini"
KEY=(--server-key "$IT_DIR/server.key")
PUB=$IT_DIR/server.key.pub
cp "$DB" "$IT_DIR/base.db"

SEED=
S=
seed_fail() {
    fail "seed $SEED: $*
reproduce: ${KF_PROPS_KNOWN_BUGS:+KF_PROPS_KNOWN_BUGS=1 }KF_PROPS_SEEDS=$SEED KF_IT_KEEP=1" \
        "ctest -R it_bill_props (the seed's files: $S)"
}

# missed CHECK DETAIL: an edit (nn, class, what, sql of the caller) the check did not find.
missed() {
    seed_fail "$1 missed edit $nn ($class: $what): $2
SQL: $sql"
}

# kioskctl commands, one a line, tab-separated; the first field "key" when the command takes
# the server key. Each run at local time $1 (clock frozen); a refused technician's action
# (exit 1) is an outcome kioskd sealed, not a failure.
run_cmds() {
    local t=$1 file=$2 rc a
    while IFS=$'\t' read -r -u 4 -a a; do
        local extra=()
        [ "${a[0]}" = key ] && extra=("${KEY[@]}")
        rc=0
        it_at "$t" "${a[@]:1}" "${extra[@]}" >>"$S/commands.out" 2>&1 || rc=$?
        case "$rc:${a[1]}" in
        0:* | 1:ack | 1:onsite | 1:resolve | 1:close | 1:attribute | 1:note) ;;
        *) seed_fail "at $t: kioskctl ${a[*]:1} exited $rc: $(tail -3 "$S/commands.out")" ;;
        esac
    done 4<"$file"
}

# What the technicians do at the checkpoint kioskd is running at (queued, then applied).
technicians() {
    python3 "$GEN" actions "$S" "$CP" "$DB" >"$S/actions-$CP.tsv"
    run_cmds "$KIOSKD_AT" "$S/actions-$CP.tsv"
    it_wait_for 30 'test "$(it_sql "SELECT count(*) FROM sla_actions
                                    WHERE status = '\''pending'\''")" = 0' ||
        seed_fail "kioskd did not apply the technicians' actions of checkpoint $CP"
}

declare -A TRIED=() FOUND_VERIFY=() FOUND_CHECK=() FOUND_BILL=() CHECK_OK=() UNSEEN=()
N_SEEDS=0
FULL_MONTH=0

one_seed() {
    SEED=$1
    S=$IT_DIR/seed-$SEED
    mkdir -p "$S"
    rm -f "$DB" "$DB-wal" "$DB-shm"
    cp "$IT_DIR/base.db" "$DB"
    python3 "$GEN" plan "$SEED" "$S" || seed_fail "plan"
    local month issue_at recompute_at k t dev asset zone kind bank number
    month=$(jq -r .month "$S/plan.json")
    issue_at=$(jq -r .issue_at "$S/plan.json")
    recompute_at=$(jq -r .recompute_at "$S/plan.json")
    while read -r -u 4 dev asset zone kind; do
        it_provision_device "$dev" "$asset" "$zone" "$S/dev" "$kind" || seed_fail "provision $dev"
    done 4< <(jq -r '.terminals[] | "\(.device) \(.asset) \(.zone) \(.kind)"' "$S/plan.json")

    # The month, checkpoint by checkpoint: what the operator records, the facts received by
    # then, kioskd's run, the technicians' actions.
    python3 "$GEN" checkpoints "$S" >"$S/checkpoints.tsv"
    while IFS=$'\t' read -r -u 5 k t; do
        python3 "$GEN" ops "$S" "$k" >"$S/ops-$k.tsv"
        run_cmds "$t" "$S/ops-$k.tsv"
        python3 "$GEN" facts "$S" "$k" "$DB" "$KF_BIN_FORGE" || seed_fail "facts of checkpoint $k"
        CP=$k
        it_run_kioskd "$t" technicians
    done 5<"$S/checkpoints.tsv"

    echo "seed $SEED: $(it_sql "SELECT count(*) FROM sla_incidents") incidents, $(it_sql \
        "SELECT count(*) FROM audit_log WHERE action = 'sla.run'") sealed runs; actions: $(it_sql \
        "SELECT group_concat(n || ' ' || what, ', ') FROM (SELECT count(*) AS n, kind ||
         CASE WHEN to_attr IS NOT NULL THEN ' ' || to_attr ELSE '' END ||
         CASE WHEN flags != 0 THEN ' (forced)' ELSE '' END || ' ' || status AS what
         FROM sla_actions GROUP BY what ORDER BY what)")"

    # The bills, after the close; their properties.
    it_at "$issue_at" bill issue --all --month "$month" --by finance:qian "${KEY[@]}" \
        >"$S/issue.out" 2>&1 || seed_fail "bill issue: $(cat "$S/issue.out")"
    for bank in $(jq -r '.banks[]' "$S/plan.json"); do
        number=$bank-000001
        grep -q "^$number $bank $month " "$S/issue.out" ||
            seed_fail "no bill $number: $(cat "$S/issue.out")"
        ctl bill show "$number" -o "$S/$bank.bill.json" || seed_fail "bill show $number"
        it_at "$issue_at" bill draft --bank "$bank" --month "$month" >"$S/$bank.draft.json" ||
            seed_fail "bill draft"
        it_at "$recompute_at" bill draft --bank "$bank" --month "$month" >"$S/$bank.draft2.json" ||
            seed_fail "bill draft again"
        cmp -s "$S/$bank.draft.json" "$S/$bank.draft2.json" ||
            seed_fail "two drafts of $bank $month differ"
        python3 "$GEN" bill "$S" "$bank" "$S/$bank.bill.json" "$S/$bank.draft.json" \
            >"$S/$bank.props.out" || seed_fail "the properties of $number ($S/$bank.bill.json)"
        cat "$S/$bank.props.out"
        FULL_MONTH=$((FULL_MONTH +
            $(sed -n 's/.*(full_month=\([0-9]*\)).*/\1/p' "$S/$bank.props.out")))
        ctl bill verify "$number" --server-pub "$PUB" >"$S/$bank.verify.out" 2>&1 ||
            seed_fail "bill verify $number: $(cat "$S/$bank.verify.out")"
        ctl bill export "$number" -o "$S/$bank.bundle.json" --server-pub "$PUB" 2>/dev/null ||
            seed_fail "bill export $number"
        "$KF_BIN_CHECK" "$S/$bank.bundle.json" --server-pub "$PUB" >"$S/$bank.check.out" 2>&1 ||
            seed_fail "kf-bill-check on $number: $(cat "$S/$bank.check.out")"
        grep -q "^OK: $number $month, " "$S/$bank.check.out" ||
            seed_fail "kf-bill-check on $number: $(cat "$S/$bank.check.out")"
        cat "$S/$bank.check.out"
    done
    ctl --format json verify >"$S/verify.json" 2>&1 ||
        seed_fail "kioskctl verify: $(cat "$S/verify.json")"
    [ "$(jq .incidents_recomputed "$S/verify.json")" -ge 1 ] ||
        seed_fail "kioskctl verify recomputed no incident: $(cat "$S/verify.json")"
    ctl audit verify --server-pub "$PUB" >"$S/audit.out" 2>&1 ||
        seed_fail "audit verify: $(cat "$S/audit.out")"

    # Single edits, each on a fresh copy of the store: the checks each must be found by.
    python3 "$GEN" edits "$S" "$DB" "$S/edits" >"$S/edits.tsv" || seed_fail "edits"
    local nn class expect what sql rc rc_verify rc_check
    while IFS=$'\t' read -r -u 6 nn class bank expect what; do
        sql=$(cat "$S/edits/$nn.sql")
        number=$bank-000001
        it_edit "$sql"
        TRIED[$class]=$((${TRIED[$class]:-0} + 1))
        rc_verify=0 rc_check=0
        it_edited_verify || rc_verify=$?
        it_edited_check "$number" || rc_check=$?
        case ,$expect, in
        *,verify,*)
            [ $rc_verify = 3 ] || missed "kioskctl verify" "rc $rc_verify"
            FOUND_VERIFY[$class]=$((${FOUND_VERIFY[$class]:-0} + 1))
            ;;
        esac
        case ,$expect, in
        *,check,*)
            [ $rc_check = 1 ] ||
                missed "kf-bill-check on $number" "rc $rc_check: $(cat "$IT_DIR/edit.check")"
            FOUND_CHECK[$class]=$((${FOUND_CHECK[$class]:-0} + 1))
            ;;
        *)
            # (an action or a window: the checker takes them from the seals, not the rows)
            [ $rc_check != 0 ] || CHECK_OK[$class]=$((${CHECK_OK[$class]:-0} + 1))
            ;;
        esac
        if [ "$expect" = none ]; then
            # Unseen by design (bill_props.py says why): counted, and shown with what the
            # checks said.
            UNSEEN[$class]=$((${UNSEEN[$class]:-0} + 1))
            printf '  edit %s %-8s %s: verify rc %s, kf-bill-check rc %s\n' "$nn" "$class" "$what" \
                "$rc_verify" "$rc_check"
            continue
        fi
        if [ "$class" = contract ]; then
            # The operator's own recompute finds a contract edit that changes the bill.
            "$KF_BIN_KIOSKCTL" --db "$IT_DIR/edit.db" bill draft --bank "$bank" --month "$month" \
                >"$IT_DIR/edit.draft" 2>&1 || true
            if ! cmp -s "$IT_DIR/edit.draft" "$S/$bank.draft2.json"; then
                rc=0
                "$KF_BIN_KIOSKCTL" --db "$IT_DIR/edit.db" bill verify "$number" \
                    --server-pub "$PUB" >"$IT_DIR/edit.billverify" 2>&1 || rc=$?
                [ $rc = 3 ] || missed "bill verify" "rc $rc (the draft changed)"
                FOUND_BILL[$class]=$((${FOUND_BILL[$class]:-0} + 1))
            fi
        fi
        printf '  edit %s %-8s %s: found\n' "$nn" "$class" "$what"
    done 6<"$S/edits.tsv"
    N_SEEDS=$((N_SEEDS + 1))
}

for seed in $SEEDS; do
    one_seed "$seed"
done

# Per class: tried, found by each check that must find them, unseen by design.
n() { echo "${1:-0}"; }
echo "ok: fact edits: $(n "${TRIED[fact]:-}") tried; found by kioskctl verify" \
    "$(n "${FOUND_VERIFY[fact]:-}") and by kf-bill-check $(n "${FOUND_CHECK[fact]:-}");" \
    "$(n "${UNSEEN[fact]:-}") unseen by design (a source written on a device fact, or a" \
    "fact appended after the last one: listed above)"
for class in action window; do
    echo "ok: $class edits: $(n "${TRIED[$class]:-}") tried; found by kioskctl verify" \
        "$(n "${FOUND_VERIFY[$class]:-}"); kf-bill-check, which takes them from the seals," \
        "still OK on $(n "${CHECK_OK[$class]:-}")"
done
echo "ok: contract edits: $(n "${TRIED[contract]:-}") tried; found by kf-bill-check" \
    "$(n "${FOUND_CHECK[contract]:-}"), by bill verify $(n "${FOUND_BILL[contract]:-}") (those" \
    "that change the bill); $(n "${UNSEEN[contract]:-}") unseen by design (a version of no day" \
    "of the month deleted)"
# The default seeds must exercise the full-month property (other seeds may happen not to);
# ctest runs each default seed as its own test (it_bill_props_<seed>), each required to.
if [ -z "${KF_PROPS_SEEDS:-}" ] || [ "${KF_PROPS_NEED_FULL_MONTH:-0}" = 1 ]; then
    [ "$FULL_MONTH" -gt 0 ] ||
        fail "no asset of seed(s) $SEEDS was in service all month under one version"
fi
echo "ok: $FULL_MONTH assets billed a full month under one version, each exactly its monthly fees"
echo "ok: bill_props ($N_SEEDS seeds: $SEEDS)"
