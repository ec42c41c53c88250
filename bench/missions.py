"""Purchases posted through the API with 20 active missions against none, in the same run (``BENCH_ONLY=missions``).

The api phase's set-up (but 500 members, so that they buy several times a run; two partners, the 10
campaigns), one gunicorn, rounds alternating between no active mission and the 20 below (a status UPDATE and
``earning_rules_changed`` between rounds: each worker reads the missions again on its next purchase, as after
a change in the admin). Of the 20, 5 advance every
basket (3 purchase counts, a spend, a streak of days; completed once a day, so prizes are paid during the run)
and 15 do not (a category, the other partner, an event type): the realistic mix of a program's challenges.
The figure is purchases/s with 20 over purchases/s with none (target 0.8).
"""

import json
from datetime import timedelta

from . import api, earning, seed

MISSIONS_MEMBERS = 500  # few enough that members buy several times a run: prizes are paid during it
TARGET_RATIO = 0.8


def seed_missions(partner, other_partner, now) -> list[int]:
    from campaigns.models import EventType
    from missions.models import CompletionLimit, Mission, MissionStatus, MissionStep, StepKind

    Mission.objects.all().delete()
    window = {
        "status": MissionStatus.DRAFT,
        "starts_at": now - timedelta(days=30),
        "ends_at": now + timedelta(days=30),
    }
    event_type = EventType.objects.order_by("pk").first()
    shapes = [
        [{"kind": StepKind.PURCHASES, "count": 2}],
        [{"kind": StepKind.PURCHASES, "count": 3}, {"kind": StepKind.CATEGORY, "category": "coffee"}],
        [{"kind": StepKind.PURCHASES, "count": 5}],
        [{"kind": StepKind.SPEND, "amount": 100}],
        [{"kind": StepKind.STREAK, "count": 3}],
    ]
    shapes += [[{"kind": StepKind.CATEGORY, "category": f"garden-{n}"}] for n in range(5)]
    shapes += [[{"kind": StepKind.PARTNER, "partner": other_partner, "count": 2}] for _ in range(5)]
    shapes += [[{"kind": StepKind.EVENTS, "event_type": event_type, "count": 3}] for _ in range(5)]
    ids = []
    for number, steps in enumerate(shapes):
        mission = Mission.objects.create(
            name=f"Bench mission {number}", completion_limit=CompletionLimit.DAY, prize_points=25, **window
        )
        for position, step in enumerate(steps, start=1):
            MissionStep.objects.create(mission=mission, position=position, **step)
        ids.append(mission.pk)
    return ids


def missions_set(ids: list[int], active: bool) -> None:
    from campaigns.campaign_services import earning_rules_changed
    from missions.models import Mission, MissionStatus

    Mission.objects.filter(pk__in=ids).update(status=MissionStatus.ACTIVE if active else MissionStatus.DRAFT)
    earning_rules_changed()


def run(*, now, today, workers: int, clients: int, rounds: int, seconds: float, log) -> dict:
    from loyalty.partners.services import partner_create
    from missions.models import MissionCompletion, MissionProgress

    log(f"missions: seeding {MISSIONS_MEMBERS:,} members, two partners, 10 campaigns, 20 missions")
    earning.reset_earning()
    seed.seed(
        accounts=MISSIONS_MEMBERS,
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
    ids = seed_missions(partner, other, now)
    members = [earning.member_number(member_id) for member_id in range(1, MISSIONS_MEMBERS + 1)]
    counter = iter(range(10**9))

    def purchase(n):
        n = next(counter)
        member = members[n % len(members)]
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        headers["Idempotency-Key"] = f"m-{n}-{now.timestamp()}"

        return api.PURCHASES_PATH, json.dumps(api.purchase_body(n, member, now)).encode(), headers

    none_rounds, twenty_rounds = [], []
    log(f"missions: gunicorn {workers} workers, {clients} clients, {rounds} rounds of {seconds} s each way")
    with api.Server(workers) as server:
        missions_set(ids, active=True)
        api._load(server.port, purchase, clients=clients, seconds=2)  # warm both ways in both workers
        missions_set(ids, active=False)
        api._load(server.port, purchase, clients=clients, seconds=2)
        for _ in range(rounds):
            missions_set(ids, active=False)
            none_rounds.append(api._load(server.port, purchase, clients=clients, seconds=seconds))
            missions_set(ids, active=True)
            twenty_rounds.append(api._load(server.port, purchase, clients=clients, seconds=seconds))
    result = {
        "workers": workers,
        "clients": clients,
        "none": api._summary(none_rounds),
        "twenty": api._summary(twenty_rounds),
        "progress_rows": MissionProgress.objects.count(),
        "completions": MissionCompletion.objects.count(),
    }
    if result["none"].get("requests_per_second") and result["twenty"].get("requests_per_second"):
        result["ratio"] = round(result["twenty"]["requests_per_second"] / result["none"]["requests_per_second"], 3)
    return result


def rows(results: dict, report) -> list[dict]:
    measured = results.get("missions")
    if not measured:
        return []
    rows = []
    for name, label in (("none", "no mission"), ("twenty", "20 active missions")):
        part = measured[name]
        rows.append(
            {
                "name": f"API purchases/s, {label} ({measured['clients']} clients)",
                "value": f"{part.get('requests_per_second')} (p50 {part.get('p50_ms')} ms, {part['errors']} errors)",
            }
        )
    ratio = measured.get("ratio")
    rows.append(
        {
            "name": "  ratio 20 missions / none",
            "value": f"{ratio} ({measured['completions']:,} completions, {measured['progress_rows']:,} progress rows)",
            "target": f">= {TARGET_RATIO}",
            "verdict": report.verdict(ratio is not None and ratio >= TARGET_RATIO),
        }
    )
    return rows
