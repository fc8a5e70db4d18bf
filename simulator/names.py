"""Names for simulated people, agents and teams."""

from __future__ import annotations

import random

FIRST_NAMES: tuple[str, ...] = tuple(
    """
    Aisha Alex Amara Ana Arjun Ben Carlos Chen Chloe Daniel Deepa Diego Elena Emma
    Fatima Felix Grace Hana Hiro Ines Isaac Jamal Jana Jonas Julia Kai Karan Laura
    Leila Liam Lucas Maya Mei Mohammed Nadia Nikhil Noah Olga Omar Priya Rafael
    Rosa Sam Sara Sofia Tariq Tom Uma Victor Wei Yara Yusuf Zoe Anika Marek Ngozi
    Pablo Quinn Ravi Sven
    """.split()
)
LAST_NAMES: tuple[str, ...] = tuple(
    """
    Adeyemi Agarwal Alvarez Andersen Baker Becker Chen Clarke Costa Dubois Edwards
    Fischer Garcia Gupta Hansen Hoffmann Ibrahim Ito Jensen Johnson Kaur Khan Kim
    Kowalski Lee Lopez Martin Mehta Meyer Moreau Murphy Nakamura Nguyen Novak
    Okafor Olsen Patel Perez Rao Reyes Rossi Sato Schmidt Silva Singh Smith Tanaka
    Taylor Torres Walker Wang Weber Williams Wilson Wong Yamamoto Young Zhang
    Haddad Lindqvist
    """.split()
)

AGENT_PURPOSES: tuple[str, ...] = tuple(
    """
    invoice-summarizer ticket-triage onboarding access-review sales-forecast
    support-copilot code-review expense-auditor security-triage data-catalog
    meeting-notes procurement contract-review churn-predictor kb-writer
    payroll-check incident-scribe lead-enricher calendar-planner license-audit
    """.split()
)
AGENT_SUFFIXES: tuple[str, ...] = ("agent", "bot", "assistant", "worker")

TEAMS: tuple[str, ...] = tuple(
    """
    finance-ml it-automation people-ops-eng security-eng data-platform support-eng
    sales-ops devex ml-platform revenue-eng
    """.split()
)

OAUTH_SCOPES: tuple[str, ...] = tuple(
    """
    invoices.read invoices.write tickets.read tickets.write crm.read reports.read
    kb.read calendar.read hr.read payments.read documents.read documents.write
    """.split()
)


def person_name(rng: random.Random, taken: set[str]) -> tuple[str, str]:
    """A display name and a unique login local part (`first.last`, then numbered)."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    base = f"{first}.{last}".lower()
    login, number = base, 2
    while login in taken:
        login, number = f"{base}{number}", number + 1
    taken.add(login)
    return f"{first} {last}", login


def agent_name(rng: random.Random, index: int, taken: set[str]) -> str:
    purpose = AGENT_PURPOSES[index % len(AGENT_PURPOSES)]
    name = f"{purpose}-{rng.choice(AGENT_SUFFIXES)}"
    number = 2
    while name in taken:
        name, number = f"{purpose}-{rng.choice(AGENT_SUFFIXES)}-{number}", number + 1
    taken.add(name)
    return name
