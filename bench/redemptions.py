"""Redemptions through the API, against purchases posted in the same run, on one gunicorn.

gunicorn (2 sync workers, ``bench/api.py``'s ``Server``) serves the project; the load client
(``bench/api.py``'s ``_load``: threads on loopback, each request its own ``Idempotency-Key``) runs
16 clients in rounds of the same length, one after the other in each round:

- ``POST /api/v1/transactions/``: the purchase of ``bench/api.py`` (the ten campaigns of
  ``bench/earning.py``), the yardstick;
- ``POST /api/v1/redemptions/`` of one reward with a large stock: every request takes a unit
  from the same row, so redemptions of different members queue on its lock;
- the same spread over 16 rewards.

Every redemption needs the member's presence code, and a member has one live code at a time:
each request redeems for a member of its own, whose code the setup issued through the service
(``presence_code_issue``) with a longer life than the default 5 minutes, so that codes issued
before the first round are still valid in the last. After the rounds the vouchers are counted
against the units taken and the ledger is audited.
"""

import itertools
import json
import time
import uuid
from datetime import date, datetime, timedelta

from . import api, db, earning, seed

CLIENTS = 16
ROUNDS = 3
ROUND_SECONDS = 6
MEMBERS = 12_000  # one presence code each: more than the rounds can redeem
REWARDS = 16
STOCK = 10**9
BALANCE = 100_000
POINTS_COST = 100


def _setup(now: datetime, today: date, log) -> dict:
    from django.conf import settings

    from loyalty.partners.services import partner_create, presence_code_issue
    from members.models import Member
    from rewards.models import Reward

    earning.reset_earning()  # first: a partner's rows cascade to the members it enrolled
    db.execute("TRUNCATE rewards_reward RESTART IDENTITY CASCADE")
    seed.seed(
        accounts=MEMBERS,
        lots_per_account=1,
        amount=BALANCE,
        now=now,
        first_created=now - timedelta(days=30),
        expires_on=today + timedelta(days=730),
    )
    earning.fix_member_numbers()
    scopes = ["transactions:write", "rewards:redeem", "rewards:read"]
    partner, key = partner_create(name="Bench shop", scopes=scopes)
    other, _key = partner_create(name="Other shop", scopes=scopes)
    earning.seed_campaigns(partner, other, now)
    rewards = [
        Reward.objects.create(code=f"bench-{n}", kind="fixed_discount", name=f"Bench reward {n}",
                              points_cost=POINTS_COST, value_amount="1.00", stock=STOCK, validity_days=30)
        for n in range(REWARDS)
    ]  # fmt: skip
    log(f"redemptions: issuing {MEMBERS:,} presence codes through the service")
    settings.PRESENCE_CODE_TTL_MINUTES = 60  # this process writes expires_at: long enough for every round
    started = time.perf_counter()
    codes = []
    for member in Member.objects.order_by("pk").only("pk", "status", "member_number"):
        codes.append((member.member_number, presence_code_issue(member=member)[1]))
    log(f"redemptions: codes issued in {time.perf_counter() - started:.0f} s")
    db.vacuum_analyze()
    db.checkpoint()
    return {"key": key, "codes": codes, "rewards": [r.pk for r in rewards]}


def run(*, now: datetime, today: date, workers: int, log) -> dict:
    from loyalty.ledger.audit import audit
    from rewards.models import Reward, Voucher

    setup = _setup(now, today, log)
    auth = {"Authorization": f"Bearer {setup['key']}", "Content-Type": "application/json"}
    codes, rewards, taken = setup["codes"], setup["rewards"], itertools.count()
    members = [number for number, _code in setup["codes"]]

    def purchase(n):
        body = api.purchase_body(n, members[n % len(members)], now)
        return api.PURCHASES_PATH, json.dumps(body).encode(), {**auth, "Idempotency-Key": f"p-{uuid.uuid4().hex}"}

    def redemption(reward_of):
        def make(n):
            # one member and its live code per request, across rounds (itertools.count is atomic under the GIL);
            # past the last one, codes are used twice and counted as errors
            number, code = codes[min(next(taken), len(codes) - 1)]
            body = {"member": number, "reward": reward_of(n), "presence_code": code}
            return "/api/v1/redemptions/", json.dumps(body).encode(), {**auth, "Idempotency-Key": uuid.uuid4().hex}

        return make

    one, many = redemption(lambda n: rewards[0]), redemption(lambda n: rewards[n % REWARDS])
    by_name = {"purchases": [], "one_reward": [], "many_rewards": []}
    log(f"redemptions: gunicorn {workers} workers, {CLIENTS} clients, {ROUNDS} rounds of {ROUND_SECONDS} s each")
    with api.Server(workers) as server:
        api._load(server.port, purchase, clients=CLIENTS, seconds=1)  # warm both workers on both paths
        api._load(server.port, many, clients=CLIENTS, seconds=1)
        for _ in range(ROUNDS):
            by_name["purchases"].append(api._load(server.port, purchase, clients=CLIENTS, seconds=ROUND_SECONDS))
            by_name["one_reward"].append(api._load(server.port, one, clients=CLIENTS, seconds=ROUND_SECONDS))
            by_name["many_rewards"].append(api._load(server.port, many, clients=CLIENTS, seconds=ROUND_SECONDS))
    result = {"workers": workers, "clients": CLIENTS, **{name: api._summary(r) for name, r in by_name.items()}}
    purchases = result["purchases"].get("requests_per_second")
    for name in ("one_reward", "many_rewards"):
        rate = result[name].get("requests_per_second")
        if rate and purchases:
            result[name]["ratio_to_purchases"] = round(rate / purchases, 3)
    units = sum(STOCK - stock for stock in Reward.objects.filter(pk__in=rewards).values_list("stock", flat=True))
    problems = audit(now=now + timedelta(minutes=5))
    result["check"] = {"units_taken": units, "vouchers": Voucher.objects.count(), "audit_problems": len(problems)}
    return result


def rows(results: dict, report) -> list[dict]:
    measured = results.get("redemptions")
    if not measured:
        return []
    purchases = measured["purchases"]
    rows = [
        {
            "name": f"API purchases/s beside redemptions ({measured['clients']} clients)",
            "value": f"{purchases.get('requests_per_second')} (p50 {purchases.get('p50_ms')} ms,"
            f" {purchases['errors']} errors)",
        }
    ]
    for name, label in (("one_reward", "one reward"), ("many_rewards", f"{REWARDS} rewards")):
        part = measured[name]
        rows.append(
            {
                "name": f"API redemptions/s, {label} ({measured['clients']} clients)",
                "value": f"{part.get('requests_per_second')} (p50 {part.get('p50_ms')} ms, p99 {part.get('p99_ms')}"
                f" ms, {part['errors']} errors)",
            }
        )
        rows.append({"name": "  ratio to purchases/s", "value": f"{part.get('ratio_to_purchases')}"})
    check = measured["check"]
    redeemed = measured["one_reward"]["requests"] + measured["many_rewards"]["requests"]
    ok = check["units_taken"] == check["vouchers"] >= redeemed and check["audit_problems"] == 0
    rows.append(
        {
            "name": "  vouchers = units taken; audit() after",
            "value": f"{check['vouchers']:,} = {check['units_taken']:,}; {check['audit_problems']} problems",
            "target": "equal, 0",
            "verdict": report.verdict(ok),
        }
    )
    return rows
