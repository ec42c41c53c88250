"""``python -m bench``: migrate, seed, measure, print the table, write bench/results/latest.json, exit 0.

``BENCH_ONLY=tiers`` (a comma-separated list of phases: pgbench, writes, expire_naive,
expire_due, expire_bare_update, tiers, dashboard, api, import, redemptions, missions) runs only those phases;
``BENCH_TIERS_REUSE_LEDGER=1`` lets the tiers phase keep the ledger seeded by an earlier run of it
(the other phases seed their own, smaller ledgers over it). The dashboard phase runs on the tiers
phase's ledger: the one this run seeded, else the same reuse rule (``BENCH_ONLY=tiers,dashboard``
seeds once), and adds 60 days of recent activity to it once (``bench/dashboard.py``).
"""

import os
import platform
import sys
import time
import traceback
from datetime import timedelta

from .setup import django_setup

WORKERS = 2
WRITE_SECONDS = 10
WRITE_ACCOUNTS = 10_000
HOT_ACCOUNTS = 10
EXPIRY_ACCOUNTS = 100_000
LOTS_PER_ACCOUNT = 10
NAIVE_SAMPLE = 10_000
TIER_MEMBERS = int(os.environ.get("BENCH_TIER_MEMBERS", 1_000_000))  # fewer for a quick try only
TIER_ENTRIES_PER_MEMBER = 20
TIER_SAMPLE = 10_000
DASHBOARD_REPETITIONS = int(os.environ.get("BENCH_DASHBOARD_REPETITIONS", 5))
TARGET_DASHBOARD_SECONDS = 1.0

TARGET_WRITES_VS_PGBENCH = 0.3
TARGET_HOT_VS_SPREAD = 0.5
TARGET_EXPIRE_SECONDS = 30
TARGET_NAIVE_FACTOR = 50
TARGET_FLOOR_FACTOR = 3
TARGET_TIERS_SECONDS = 60
TARGET_TIERS_NAIVE_FACTOR = 20
API_MEMBERS = 2_000
API_CLIENTS = 4
API_ROUNDS = 3
API_ROUND_SECONDS = 8
TARGET_API_RATIO = 0.5
MISSIONS_ROUNDS = 5  # alternating none / 20 missions: more rounds than the api phase, the ratio is close to 1
IMPORT_PURCHASES = int(os.environ.get("BENCH_IMPORT_PURCHASES", 100_000))  # fewer for a quick try only
IMPORT_MEMBERS = 20_000
TARGET_IMPORT_PER_SECOND = 5_000

_begun = time.perf_counter()


def log(message: str) -> None:
    print(f"[{time.perf_counter() - _begun:6.1f}s] {message}", file=sys.stderr, flush=True)


def main() -> int:
    django_setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from loyalty.ledger.audit import audit
    from loyalty.ledger.models import Account, Lot

    from . import db, expiry, pgbench, report, seed, tiers, writes

    if connection.vendor != "postgresql":
        print("The benchmarks need PostgreSQL: set DATABASE_URL=postgres://.../loyalty_bench")
        return 0

    results, errors = {}, {}
    log("migrating")
    call_command("migrate", interactive=False, verbosity=0)
    now = timezone.now()
    today = timezone.localdate(now)

    def phase(name, function):
        results.setdefault("load_average", {})[name] = [round(load, 2) for load in os.getloadavg()]
        try:
            function()
        except Exception:
            errors[name] = traceback.format_exc()
            log(f"{name} failed:\n{errors[name]}")

    # 1. The server's yardstick.
    def run_pgbench():
        log("pgbench: initializing loyalty_bench_pgbench (-i -s 10)")
        pgbench.initialize(scale=10)
        db.checkpoint()
        log(f"pgbench: simple-update, {WORKERS} clients, {WRITE_SECONDS} s")
        results["pgbench"] = pgbench.simple_update(clients=WORKERS, threads=WORKERS, seconds=WRITE_SECONDS)
        log(f"pgbench: {results['pgbench']['tps']:.0f} TPS")

    # 2. Ledger writes on 10,000 accounts, then on 10 hot ones; no overspend.
    def run_writes():
        log(f"writes: seeding {WRITE_ACCOUNTS:,} accounts")
        seed.seed(
            accounts=WRITE_ACCOUNTS,
            lots_per_account=1,
            amount=1_000_000,
            now=now,
            first_created=now - timedelta(days=1),
            expires_on=today + timedelta(days=730),
        )
        ids = list(Account.objects.order_by("pk").values_list("pk", flat=True))
        db.checkpoint()
        log(f"writes: credit 10 / debit 5 on {len(ids):,} random accounts, {WORKERS} processes, {WRITE_SECONDS} s")
        results["writes_spread"] = writes.run(ids, workers=WORKERS, duration=WRITE_SECONDS)
        log(f"writes: {results['writes_spread']['ops_per_second']:.0f} ops/s")
        db.checkpoint()
        log(f"writes: the same on {HOT_ACCOUNTS} hot accounts")
        results["writes_hot"] = writes.run(ids[:HOT_ACCOUNTS], workers=WORKERS, duration=WRITE_SECONDS)
        log(f"writes: {results['writes_hot']['ops_per_second']:.0f} ops/s")
        log("writes: audit")
        problems = audit()
        results["writes_audit"] = {
            "problems": len(problems),
            "first_problems": problems[:10],
            "negative_balances": Account.objects.filter(balance__lt=0).count(),
        }

    # 3. Expiry of 1,000,000 lots in 100,000 accounts, three ways, each on a fresh seed.
    def seed_expiry():
        log(f"expiry: seeding {EXPIRY_ACCOUNTS * LOTS_PER_ACCOUNT:,} due lots in {EXPIRY_ACCOUNTS:,} accounts")
        points = seed.seed(
            accounts=EXPIRY_ACCOUNTS,
            lots_per_account=LOTS_PER_ACCOUNT,
            now=now,
            first_created=now - timedelta(days=400),
            expires_on=today - timedelta(days=40),
        )
        db.checkpoint()
        return points

    def run_naive():
        seed_expiry()
        step = EXPIRY_ACCOUNTS * LOTS_PER_ACCOUNT // NAIVE_SAMPLE
        sample = list(
            Lot.objects.filter(id__in=range(step, EXPIRY_ACCOUNTS * LOTS_PER_ACCOUNT + 1, step))
            .values_list("pk", flat=True)
            .order_by("pk")
        )
        log(f"expiry: naive per-lot ORM loop on {len(sample):,} lots")
        results["expire_naive"] = expiry.naive_loop(sample, now)
        log(f"expiry: naive {results['expire_naive']['ms_per_lot']:.2f} ms per lot")
        log("expiry: EXPLAIN ANALYZE of one expire_due batch (rolled back)")
        results["expire_due_explain"] = expiry.explain_one_batch(now)

    def run_expire_due():
        points = seed_expiry()
        log("expiry: expire_due")
        results["expire_due"] = expiry.expire_due(now)
        results["expire_due"]["seeded_points"] = points
        results["expire_due"]["lots"] = EXPIRY_ACCOUNTS * LOTS_PER_ACCOUNT
        log(f"expiry: expire_due {results['expire_due']['seconds']:.1f} s; checking")
        results["expire_due_state"] = expiry.state(today)
        started = time.perf_counter()
        problems = audit(now=now)
        results["expire_due_audit"] = {
            "problems": len(problems),
            "first_problems": problems[:10],
            "seconds": round(time.perf_counter() - started, 1),
        }

    def run_bare_update():
        seed_expiry()
        log("expiry: bare UPDATE ledger_lot")
        results["expire_bare_update"] = expiry.bare_update(today)
        log(f"expiry: bare UPDATE {results['expire_bare_update']['seconds']:.1f} s")

    # 4. Tier recalculation of 1,000,000 members (20,000,000 entries) against a per-member ORM loop.
    def run_tiers():
        log(f"tiers: seeding {TIER_MEMBERS:,} members with {TIER_MEMBERS * TIER_ENTRIES_PER_MEMBER:,} entries")
        results["tiers_seed"] = tiers.seed_members(
            members=TIER_MEMBERS,
            entries_per_member=TIER_ENTRIES_PER_MEMBER,
            now=now,
            reuse_ledger=bool(os.environ.get("BENCH_TIERS_REUSE_LEDGER")),
        )
        log(f"tiers: seeded in {results['tiers_seed']['seconds']:.0f} s")
        sample = list(range(1, TIER_MEMBERS + 1, TIER_MEMBERS // TIER_SAMPLE - 1))[:TIER_SAMPLE]
        db.checkpoint()
        log(f"tiers: naive per-member ORM loop on {len(sample):,} members")
        results["tiers_naive"] = tiers.naive_loop(sample, now)
        log(f"tiers: naive {results['tiers_naive']['ms_per_member']:.2f} ms per member")
        by_the_loop = tiers.sample_state(sample)
        db.checkpoint()
        log("tiers: tier_recalculate_all")
        results["tiers_recalculate"] = tiers.recalculate(now)
        log(f"tiers: tier_recalculate_all {results['tiers_recalculate']['seconds']:.1f} s; again")
        by_ours = tiers.sample_state(sample)
        results["tiers_recalculate"]["sample_disagreements"] = sum(
            mine != theirs for mine, theirs in zip(by_ours, by_the_loop, strict=False)
        ) + abs(len(by_ours) - len(by_the_loop))
        results["tiers_recalculate_again"] = tiers.recalculate(now)
        log(f"tiers: second run {results['tiers_recalculate_again']['seconds']:.1f} s")

    # 4b. The program dashboard on that ledger, with 60 days of recent activity, through the test client.
    def run_dashboard():
        from . import dashboard

        reuse = bool(os.environ.get("BENCH_TIERS_REUSE_LEDGER"))
        seeded = reuse and tiers.ledger_is_seeded(members=TIER_MEMBERS, entries_per_member=TIER_ENTRIES_PER_MEMBER)
        if "tiers_seed" in results or seeded:
            log("dashboard: on the tiers phase's ledger (and its tiers) as it is")
        else:
            log(f"dashboard: seeding the tiers phase's ledger ({TIER_MEMBERS:,} members) and tiers")
            results["dashboard_ledger"] = tiers.seed_members(
                members=TIER_MEMBERS, entries_per_member=TIER_ENTRIES_PER_MEMBER, now=now
            )
        log("dashboard: adding the last 60 days' activity (once)")
        results["dashboard_seed"] = dashboard.add_recent_activity(
            now=now, seeded_entries=TIER_MEMBERS * TIER_ENTRIES_PER_MEMBER
        )
        log(f"dashboard: {results['dashboard_seed']}")
        log("dashboard: the rollups (every day the first time, then the nightly run of one day) and the snapshots")
        results["dashboard_rollup"] = dashboard.roll_up(today)
        log(f"dashboard: {results['dashboard_rollup']}")
        db.checkpoint()
        client = dashboard.staff_client()
        periods = {
            "default": {},
            "365 days": {"start": (today - timedelta(days=364)).isoformat(), "end": today.isoformat()},
            "10 years": {"start": (today - timedelta(days=3652)).isoformat(), "end": today.isoformat()},
        }
        log(f"dashboard: {DASHBOARD_REPETITIONS} GETs of each period: {list(periods)}")
        results["dashboard"] = dashboard.measure(client, periods, DASHBOARD_REPETITIONS)
        for name, measured in results["dashboard"].items():
            log(
                f"dashboard: {name}: median {measured['median_seconds']} s, max {measured['max_seconds']} s,"
                f" first {measured['first_seconds']} s"
            )
        log("dashboard: EXPLAIN (ANALYZE, BUFFERS) of each query, default and 10-year periods")
        results["dashboard_explain"] = {
            name: dashboard.explain(client, periods[name]) for name in ("default", "10 years")
        }
        results["dashboard_reconcile"] = dashboard.reconcile(today - timedelta(days=3652), today)

    # 5. Purchases through the API (gunicorn, 2 workers) against a bare endpoint.
    def run_api():
        from loyalty.partners.services import partner_create

        from . import api, earning

        log(f"api: seeding {API_MEMBERS:,} members, two partners, 10 active campaigns")
        earning.reset_earning()  # first: a partner's rows cascade to the members it enrolled
        seed.seed(
            accounts=API_MEMBERS,
            lots_per_account=1,
            amount=1_000,
            now=now,
            first_created=now - timedelta(days=30),
            expires_on=today + timedelta(days=730),
        )
        earning.fix_member_numbers()
        scopes = ["transactions:write", "transactions:read", "points:adjust", "members:read"]
        partner, key = partner_create(name="Bench shop", scopes=scopes)
        other, _key = partner_create(name="Other shop", scopes=scopes)
        earning.seed_campaigns(partner, other, now)
        members = [earning.member_number(member_id) for member_id in range(1, API_MEMBERS + 1)]
        results["api_statements"] = api.statements_per_purchase(now=now, members=members, key=key)
        log(
            f"api: gunicorn {WORKERS} workers, {API_CLIENTS} clients, {API_ROUNDS} rounds of"
            f" {API_ROUND_SECONDS} s on each endpoint"
        )
        db.checkpoint()
        results["api"] = api.run(
            now=now,
            members=members,
            key=key,
            workers=WORKERS,
            clients=API_CLIENTS,
            rounds=API_ROUNDS,
            seconds=API_ROUND_SECONDS,
        )
        log(f"api: {results['api']}")

    # 6. The CSV import of 100,000 purchases (the management command, in this process).
    def run_import():
        from loyalty.partners.services import partner_create

        from . import earning, imports

        log(f"import: seeding {IMPORT_MEMBERS:,} members, two partners, 10 active campaigns, 3 tiers")
        earning.reset_earning()
        seed.seed(
            accounts=IMPORT_MEMBERS,
            lots_per_account=1,
            amount=50,
            now=now,
            first_created=now - timedelta(days=30),
            expires_on=today + timedelta(days=730),
        )
        db.execute("TRUNCATE tiers_tier RESTART IDENTITY CASCADE")
        earning.fix_member_numbers()
        imports.seed_tiers()
        partner, _key = partner_create(name="Bench shop")
        other, _key = partner_create(name="Other shop")
        earning.seed_campaigns(partner, other, now)
        path = report.RESULTS_DIR / "purchases.csv"
        report.RESULTS_DIR.mkdir(exist_ok=True)
        rows = imports.write_file(path, purchases=IMPORT_PURCHASES, members=IMPORT_MEMBERS, now=now)
        log(f"import: {IMPORT_PURCHASES:,} purchases in {rows:,} rows written to {path}")
        db.vacuum_analyze()
        db.checkpoint()
        log("import: manage.py purchases_import, then the same file again")
        results["import"] = imports.run(path, partner_name=partner.name)
        log(f"import: {results['import']['seconds']} s; audit")
        started = time.perf_counter()
        problems = audit(now=timezone.now())
        results["import_audit"] = {
            "problems": len(problems),
            "first_problems": problems[:10],
            "seconds": round(time.perf_counter() - started, 1),
        }
        path.unlink()

    # 7. Redemptions through the API, on one reward and on 16, against purchases in the same run.
    def run_redemptions():
        from . import redemptions

        results["redemptions"] = redemptions.run(now=now, today=today, workers=WORKERS, log=log)
        log(f"redemptions: {results['redemptions']}")

    # 8. Purchases through the API with 20 active missions against none, in the same run.
    def run_missions():
        from . import missions

        results["missions"] = missions.run(
            now=now,
            today=today,
            workers=WORKERS,
            clients=API_CLIENTS,
            rounds=MISSIONS_ROUNDS,
            seconds=API_ROUND_SECONDS,
            log=log,
        )
        log(f"missions: {results['missions']}")

    only = {name.strip() for name in os.environ.get("BENCH_ONLY", "").split(",") if name.strip()}
    for name, function in (
        ("pgbench", run_pgbench),
        ("writes", run_writes),
        ("expire_naive", run_naive),
        ("expire_due", run_expire_due),
        ("expire_bare_update", run_bare_update),
        ("tiers", run_tiers),
        ("dashboard", run_dashboard),  # before the phases that seed over the tiers' ledger
        ("api", run_api),
        ("import", run_import),
        ("redemptions", run_redemptions),
        ("missions", run_missions),
    ):
        if not only or name in only:
            phase(name, function)

    from . import dashboard, missions, redemptions

    rows = _rows(results, report) + dashboard.rows(results, report, TARGET_DASHBOARD_SECONDS)
    rows += redemptions.rows(results, report)
    rows += missions.rows(results, report)
    total = round(time.perf_counter() - _begun, 1)
    print()
    print(f"Ledger benchmarks ({total} s in all; PostgreSQL {connection.pg_version // 10000}, {WORKERS} workers)")
    print()
    print(report.table(rows))
    for name, error in errors.items():
        print(f"\n{name} did not finish:\n{error}")
    statements = results.get("expire_due", {}).get("statements")
    if statements:
        print("\nexpire_due, time per statement kind:")
        for row in statements:
            print(f"  {row['seconds']:7.2f} s {row['share']:6.1%}  {row['calls']:5d} x  {row['statement']}")
    plans = results.get("expire_due_explain")
    if plans:
        print("\nOne expire_due batch under EXPLAIN (ANALYZE, BUFFERS), the top of each plan:")
        for plan in plans:
            print(f"  {plan['execution_ms'] or 0:9.1f} ms  {plan['statement']}")
            for line in plan["plan"][:4]:
                print(f"                {line[:150]}")
    for period, plans in results.get("dashboard_explain", {}).items():
        print(f"\nThe dashboard's queries ({period}) under EXPLAIN (ANALYZE, BUFFERS), the top of each plan:")
        for plan in plans:
            print(f"  {plan['execution_ms'] or 0:9.1f} ms  {plan['statement'][:150]}")
            for line in plan["plan"][:4]:
                print(f"                {line[:150]}")
    print(f"\nLoad average (1, 5, 15 min) before each phase: {results.get('load_average')}")
    path = report.write_json(
        {
            "started_at": now.isoformat(),
            "seconds": total,
            "host": {"python": platform.python_version(), "machine": platform.machine(), "cpus": _cpus()},
            "rows": rows,
            "results": results,
            "errors": errors,
        }
    )
    print(f"\nWritten to {path}")
    return 0


def _rows(results: dict, report) -> list[dict]:
    rows = []
    pg = results.get("pgbench")
    spread, hot = results.get("writes_spread"), results.get("writes_hot")
    if pg:
        rows.append({"name": "pgbench simple-update TPS (2 clients, 10 s)", "value": f"{pg['tps']:.0f}"})
    if spread:
        rows.append(
            {
                "name": f"Ledger writes/s, {spread['accounts']:,} accounts",
                "value": f"{spread['ops_per_second']:.0f} ({spread['ops']} ops, {spread['errors']} errors)",
            }
        )
    if spread and pg:
        ratio = spread["ops_per_second"] / pg["tps"]
        rows.append(
            {
                "name": "  ratio to pgbench TPS",
                "value": f"{ratio:.2f}",
                "target": f">= {TARGET_WRITES_VS_PGBENCH}",
                "verdict": report.verdict(ratio >= TARGET_WRITES_VS_PGBENCH),
            }
        )
    if hot:
        rows.append(
            {
                "name": f"Ledger writes/s, {hot['accounts']} hot accounts",
                "value": f"{hot['ops_per_second']:.0f} ({hot['ops']} ops, {hot['errors']} errors)",
            }
        )
    if hot and spread:
        ratio = hot["ops_per_second"] / spread["ops_per_second"]
        rows.append(
            {
                "name": "  ratio hot / spread",
                "value": f"{ratio:.2f}",
                "target": f">= {TARGET_HOT_VS_SPREAD}",
                "verdict": report.verdict(ratio >= TARGET_HOT_VS_SPREAD),
            }
        )
    checked = results.get("writes_audit")
    if checked:
        ok = checked["problems"] == 0 and checked["negative_balances"] == 0 and not (spread or {}).get("errors")
        rows.append(
            {
                "name": "No overspend: audit() after the writes",
                "value": f"{checked['problems']} problems, {checked['negative_balances']} negative balances",
                "target": "0 and 0",
                "verdict": report.verdict(ok),
            }
        )
    due, naive, bare = results.get("expire_due"), results.get("expire_naive"), results.get("expire_bare_update")
    if due:
        state, audited = results.get("expire_due_state", {}), results.get("expire_due_audit", {})
        complete = (
            due["points"] == due["seeded_points"]
            and state.get("due_lots_left") == 0
            and state.get("balance_total") == 0
            and state.get("unbalanced_accounts") == 0
            and audited.get("problems") == 0
        )
        rows.append(
            {
                "name": f"expire_due, {due['lots']:,} lots in {due['accounts']:,} accounts",
                "value": f"{due['seconds']:.1f} s",
                "target": f"< {TARGET_EXPIRE_SECONDS} s",
                "verdict": report.verdict(due["seconds"] < TARGET_EXPIRE_SECONDS),
            }
        )
        rows.append(
            {
                "name": "  all expired, audit() clean afterwards",
                "value": f"{state.get('due_lots_left')} due lots left, {audited.get('problems')} audit problems",
                "target": "0 and 0",
                "verdict": report.verdict(complete),
            }
        )
    if naive:
        rows.append(
            {
                "name": f"Naive per-lot ORM loop ({naive['lots']:,}-lot sample)",
                "value": f"{naive['seconds']:.1f} s = {naive['ms_per_lot']:.2f} ms/lot"
                + (f" (~{naive['ms_per_lot'] * due['lots'] / 1000:.0f} s for {due['lots']:,})" if due else ""),
            }
        )
    if naive and due:
        factor = naive["ms_per_lot"] / (due["seconds"] * 1000 / due["lots"])
        rows.append(
            {
                "name": "  expire_due speed-up per lot over it",
                "value": f"{factor:.0f}x",
                "target": f">= {TARGET_NAIVE_FACTOR}x",
                "verdict": report.verdict(factor >= TARGET_NAIVE_FACTOR),
            }
        )
    if bare:
        rows.append(
            {"name": f"Bare UPDATE ledger_lot of {bare['lots']:,} lots (floor)", "value": f"{bare['seconds']:.1f} s"}
        )
    if bare and due:
        factor = due["seconds"] / bare["seconds"]
        rows.append(
            {
                "name": "  expire_due / bare UPDATE",
                "value": f"{factor:.2f}x",
                "target": f"<= {TARGET_FLOOR_FACTOR}x",
                "verdict": report.verdict(factor <= TARGET_FLOOR_FACTOR),
            }
        )
    rows.extend(_tier_rows(results, report))
    rows.extend(_api_rows(results, report))
    return rows


def _api_rows(results: dict, report) -> list[dict]:
    rows = []
    measured, statements = results.get("api"), results.get("api_statements")
    if measured:
        bare, purchases = measured["bare"], measured["purchases"]
        rows.append(
            {
                "name": f"API: bare endpoint, {measured['workers']} gunicorn workers, {measured['clients']} clients",
                "value": f"{bare.get('requests_per_second', 0):.0f} req/s, p50 {bare.get('p50_ms')} ms,"
                f" p99 {bare.get('p99_ms')} ms ({bare['errors']} errors)",
            }
        )
        rows.append(
            {
                "name": f"API: purchases, {measured['endpoint']}",
                "value": f"{purchases.get('requests_per_second', 0):.0f} req/s, p50 {purchases.get('p50_ms')} ms,"
                f" p99 {purchases.get('p99_ms')} ms ({purchases['errors']} errors)",
            }
        )
        if "ratio" in measured:
            rows.append(
                {
                    "name": "  ratio purchases / bare",
                    "value": f"{measured['ratio']:.2f}",
                    "target": f">= {TARGET_API_RATIO}",
                    "verdict": report.verdict(measured["ratio"] >= TARGET_API_RATIO and not purchases["errors"]),
                }
            )
    if statements:
        rows.append(
            {
                "name": f"  SQL statements per purchase, {statements['campaigns']} campaigns / the 2 matching only",
                "value": f"{statements['statements']} / {statements['statements_matching_only']}"
                + ("" if statements["status"] == 201 else f" (answered {statements['status']})"),
                "target": "equal",
                "verdict": report.verdict(statements["statements"] == statements["statements_matching_only"]),
            }
        )
    imported, audited = results.get("import"), results.get("import_audit")
    if imported:
        rate = imported["purchases_per_second"]
        rows.append(
            {
                "name": f"CSV import: {imported['purchases']:,} purchases ({imported['lines']:,} lines,"
                f" {imported['awards']:,} awards, {imported['tier_changes']:,} tier changes)",
                "value": f"{imported['seconds']:.1f} s = {rate:,.0f} purchases/s",
                "target": f">= {TARGET_IMPORT_PER_SECOND:,}/s",
                "verdict": report.verdict(rate >= TARGET_IMPORT_PER_SECOND and not imported["errors"]),
            }
        )
        rows.append(
            {
                "name": "  the same file again",
                "value": f"{imported['again_seconds']:.1f} s, {imported['again_written']} purchases written",
                "target": "0",
                "verdict": report.verdict(imported["again_written"] == 0),
            }
        )
    if imported and audited:
        ok = audited["problems"] == 0 and imported["points"] == imported["points_credited"]
        rows.append(
            {
                "name": "  audit() after; points of the purchases = points credited",
                "value": f"{audited['problems']} problems; {imported['points']:,} = {imported['points_credited']:,}",
                "target": "0, equal",
                "verdict": report.verdict(ok),
            }
        )
    return rows


def _tier_rows(results: dict, report) -> list[dict]:
    rows = []
    seeded, ours, again, naive = (
        results.get(name) for name in ("tiers_seed", "tiers_recalculate", "tiers_recalculate_again", "tiers_naive")
    )
    if seeded:
        rows.append(
            {
                "name": f"Tier seed: {seeded['members']:,} members, {seeded['entries']:,} entries,"
                f" {seeded['qualifying_days']:,} qualifying days",
                "value": f"{seeded['seconds']:.0f} s"
                + (
                    " (the ledger of an earlier run)"
                    if seeded["ledger_seed_seconds"] is None
                    else f" (ledger {seeded['ledger_seed_seconds']:.0f} s)"
                ),
            }
        )
    if ours:
        rows.append(
            {
                "name": f"recalculate_tiers, {ours['members']:,} members",
                "value": f"{ours['seconds']:.1f} s ({ours['changes']:,} changes, {ours['updated']:,} updated,"
                f" {ours['created']:,} created)",
                "target": f"< {TARGET_TIERS_SECONDS} s",
                "verdict": report.verdict(ours["seconds"] < TARGET_TIERS_SECONDS),
            }
        )
        rows.append(
            {
                "name": "  same result as the ORM loop on its sample",
                "value": f"{ours['sample_disagreements']} members differ",
                "target": "0",
                "verdict": report.verdict(ours["sample_disagreements"] == 0),
            }
        )
    if again:
        rows.append(
            {
                "name": "  run again: nothing changes",
                "value": f"{again['seconds']:.1f} s, {again['changes']} changes, {again['updated']} updated,"
                f" {again['created']} created",
                "target": "0, 0, 0",
                "verdict": report.verdict(again["changes"] == again["updated"] == again["created"] == 0),
            }
        )
    if naive:
        rows.append(
            {
                "name": f"Naive per-member ORM loop ({naive['members']:,}-member sample)",
                "value": f"{naive['seconds']:.1f} s = {naive['ms_per_member']:.2f} ms/member"
                + (
                    f" (~{naive['ms_per_member'] * ours['members'] / 1000:.0f} s for {ours['members']:,})"
                    if ours
                    else ""
                ),
            }
        )
    if naive and ours:
        factor = naive["ms_per_member"] / (ours["seconds"] * 1000 / ours["members"])
        rows.append(
            {
                "name": "  recalculate_tiers speed-up per member over it",
                "value": f"{factor:.0f}x",
                "target": f">= {TARGET_TIERS_NAIVE_FACTOR}x",
                "verdict": report.verdict(factor >= TARGET_TIERS_NAIVE_FACTOR),
            }
        )
    return rows


def _cpus():
    return os.cpu_count()


if __name__ == "__main__":
    sys.exit(main())
