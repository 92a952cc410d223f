"""Rule evaluation benchmark: 100,000 subscriptions, target under 2 s.

    make bench            (or: python -m bench.rules_bench --subscriptions 100000)

Builds a SQLite cache of N subscriptions (two per company, renewals spread over the next 400
days, with owner, contact, price and tier variety), then times the rules step as a run does it:
loading the portfolio from the cache, and evaluating every rule (the pure part).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from worker.cache.db import Cache
from worker.cache.models import Company, Contact, Owner, PrimaryContact, Subscription
from worker.cache.portfolio import load_portfolio
from worker.rules import RuleConfig, evaluate

TARGET_S = 2.0


def build_cache(url: str, subscriptions: int, as_of: date, seed: int) -> None:
    rng = random.Random(seed)
    cache = Cache(url)
    now = datetime.now(timezone.utc)
    companies = subscriptions // 2
    owners = [{"id": str(9000 + i), "first_name": f"Owner{i}", "last_name": "X", "email": None, "active": i % 25 != 0} for i in range(50)]
    with cache.transaction() as session:
        session.execute(Owner.__table__.insert(), owners)  # type: ignore[attr-defined]
        for start in range(0, companies, 5000):
            batch = range(start, min(start + 5000, companies))
            session.execute(Company.__table__.insert(), [  # type: ignore[attr-defined]
                {"id": str(10**6 + n), "name": f"Client {n}", "owner_id": rng.choice(owners)["id"], "properties": {}, "archived": False, "seen_generation": 1}
                for n in batch
            ])
            session.execute(Contact.__table__.insert(), [  # type: ignore[attr-defined]
                {"id": str(5 * 10**6 + n), "email": f"c{n}@client.example", "email_problem": "malformed" if n % 50 == 0 else None,
                 "first_name": "Ana", "last_name": None, "bounce_reason": "UNKNOWN_USER" if n % 40 == 0 else None, "opted_out": n % 60 == 0,
                 "properties": {}, "archived": False, "seen_generation": 1}
                for n in batch
            ])
            session.execute(PrimaryContact.__table__.insert(), [  # type: ignore[attr-defined]
                {"company_id": str(10**6 + n), "contact_id": None if n % 33 == 0 else str(5 * 10**6 + n), "candidate_ids": [], "label": "Primary", "checked_at": now}
                for n in batch
            ])
        for start in range(0, subscriptions, 5000):
            rows = []
            for n in range(start, min(start + 5000, subscriptions)):
                price = Decimal(rng.choice([800, 1200, 3200]))
                tier = rng.choice([1000, 5000, 10000])
                rows.append({
                    "id": str(2 * 10**7 + n), "object_type": "deals", "company_id": str(10**6 + n // 2),
                    "owner_id": rng.choice(owners)["id"] if rng.random() < 0.8 else None,
                    "renewal_date": as_of + timedelta(days=rng.randint(-30, 400)), "deadline": None, "products": "Marketing Hub Professional",
                    "current_price": price, "renewal_price": price if rng.random() < 0.6 else price * Decimal("1.1"), "currency": "USD",
                    "communication_owner": rng.choice(["hubspot", "hubspot", "partner", None]), "contact_tier": tier,
                    "contacts_used": int(tier * rng.uniform(0.4, 1.15)), "emails_sent": int(tier * rng.uniform(1, 11)),
                    "status": "closedlost" if rng.random() < 0.05 else "renewal_open", "properties": {}, "archived": False, "seen_generation": 1,
                })
            session.execute(Subscription.__table__.insert(), rows)  # type: ignore[attr-defined]
    cache.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.rules_bench")
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    as_of = datetime.now(timezone.utc).date()
    with tempfile.TemporaryDirectory(prefix="rw-rules-bench-") as workdir:
        url = f"sqlite:///{Path(workdir) / 'rules.db'}"
        build_cache(url, args.subscriptions, as_of, args.seed)
        cache = Cache(url)
        started = time.perf_counter()
        with cache.transaction() as session:
            portfolio = load_portfolio(session)
        loaded = time.perf_counter()
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            plan = evaluate(portfolio, as_of, RuleConfig(fallback_owner_id="9001"))
            best = min(best, time.perf_counter() - t0)
        cache.close()
    load_s = loaded - started
    print(f"\n== rules: {len(portfolio.subscriptions):,} subscriptions, {len(portfolio.companies):,} companies")
    print(f"  load from the cache {load_s:.2f}s; evaluate {best:.2f}s (best of 3); together {load_s + best:.2f}s (target < {TARGET_S:.0f}s for evaluation)")
    print(f"  {len(plan.reminders):,} valid reminders ({sum(r.create for r in plan.reminders):,} to create), {len(plan.findings):,} findings")
    print(f"\nrules_eval_s={best:.2f} rules_load_s={load_s:.2f} target_s={TARGET_S:.0f}")
    return 0 if best < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
