"""The front page: the to-do list first (web.todo), then the principal's groups, a page at a time."""

from __future__ import annotations

from flask import render_template, request
from flask.typing import ResponseReturnValue

from integrator.config import Rules
from integrator.domain import weeks
from integrator.web import access, context
from integrator.web.auth import current_principal
from integrator.web.context import get_settings, get_store
from integrator.web.overview import PAGE_SIZE, group_weeks, page_of
from integrator.web.todo import organisation_rules, read_todo


def _rules_for(key: str) -> Rules:
    return get_settings().rules_for(key)


def page(week: str) -> ResponseReturnValue:
    p = current_principal()
    query = (request.args.get("q") or "")[:100]
    number = request.args.get("page", default=1, type=int) or 1
    today, now = context.today(), context.now()
    store = get_store()
    with store.session() as s:
        groups = access.visible_groups(s, p)
        rules = organisation_rules(s, sorted({g.organisation_id for g in groups}), _rules_for)
        todo = read_todo(store, s, p, groups, now=now, today=today, rules=rules)
        shown = page_of(groups, query, number)
        summaries = group_weeks(s, p, shown.groups, week, today)
    return render_template("dashboard.html", week=week, todo=todo, counts=todo.counts(), shown=shown,
                           summaries=summaries, page_size=PAGE_SIZE, has_groups=bool(groups),
                           prev_week=weeks.shift_week(week, -1), next_week=weeks.shift_week(week, 1))
