"""The findings page (``GET /findings``): what is wrong in the data, for people: the rule by name,
its severity in words and colour, the client by name, a filter by rule, 200 a page."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from worker.cache.models import Finding
from worker.labels import rule_name, severity
from worker.reports import client_companies

PAGE_SIZE = 200


def findings_page(session: Session, language: str, page: int = 1, rule: str = "", size: int = PAGE_SIZE) -> dict[str, Any]:
    open_findings = select(Finding).where(Finding.resolved_at.is_(None))  # type: ignore[union-attr]
    rules = [
        {"code": code, "name": rule_name(code, language), "count": count}
        for code, count in session.execute(
            select(Finding.rule, func.count()).where(Finding.resolved_at.is_(None)).group_by(Finding.rule).order_by(Finding.rule)  # type: ignore[union-attr]
        )
    ]
    rule = rule if rule in {r["code"] for r in rules} else ""  # a rule with no open finding: all of them
    if rule:
        open_findings = open_findings.where(Finding.rule == rule)
    total = session.execute(select(func.count()).select_from(open_findings.subquery())).scalar_one()
    pages = max(1, -(-total // size))
    page = min(max(page, 1), pages)
    statement = open_findings.order_by(Finding.rule, Finding.object_type, Finding.object_id, Finding.field).offset((page - 1) * size).limit(size)  # type: ignore[arg-type]
    findings = [f for (f,) in session.execute(statement)]
    clients = client_companies(session, findings)
    rows = []
    for f in findings:
        company_id, client = clients.get((f.object_type, f.object_id), (None, None))
        rows.append({"finding": f, "severity": severity(f.rule), "rule_name": rule_name(f.rule, language), "company_id": company_id, "client": client})
    return {"rows": rows, "rules": sorted(rules, key=lambda r: r["name"].casefold()), "rule": rule, "total": total, "page": page, "pages": pages}
